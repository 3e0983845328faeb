"""A start that cannot go on says why in one line on stderr, exit code 2, never a traceback (the real `qihu`)."""

from __future__ import annotations

import os
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.test_cli import ROOT, qihu

PG_URL = os.environ.get("QIHU_TEST_DATABASE_URL", "")
EXAMPLE = str(ROOT / "config.example.toml")


def stops(result, *expected: str) -> str:  # type: ignore[no-untyped-def]
    """The command stopped with exit code 2 and exactly one line, containing every expected part."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


def start(tmp_path: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    return qihu(*(args or ("run",)), cwd=tmp_path, env={"QIHU_CONFIG": EXAMPLE, **env})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_postgresql_names_host_and_port_for_every_command(tmp_path):
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"
    port = make_url(url).port
    for command in (["run"], ["db", "upgrade"], ["scheduler", "--once"], ["init"]):
        stops(start(tmp_path, *command, QIHU_DATABASE__URL=url), f"无法连接数据库 127.0.0.1:{port}", "连接被拒绝")


def test_unknown_database_host_is_named(tmp_path):
    stops(start(tmp_path, QIHU_DATABASE__URL="postgresql+asyncpg://postgres@no-such-host.invalid:5432/x"),
          "无法连接数据库 no-such-host.invalid:5432", "主机名无法解析")


class FakePostgres(socketserver.ThreadingTCPServer):
    """Speaks PostgreSQL's start-up protocol far enough to refuse a password, as a real server does."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LoginRefused)
        self.users: list[str] = []


class _LoginRefused(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        while True:
            (length,) = struct.unpack("!i", _read(sock, 4))
            body = _read(sock, length - 4)
            if struct.unpack("!i", body[:4])[0] in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                sock.sendall(b"N")
                continue
            break
        params = body[4:].split(b"\0")
        self.server.users.append(dict(zip(params[::2], params[1::2], strict=False))[b"user"].decode())  # type: ignore[attr-defined]
        sock.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        assert _read(sock, 1) == b"p"
        (length,) = struct.unpack("!i", _read(sock, 4))
        _read(sock, length - 4)
        fields = b"".join(code + text.encode() + b"\0" for code, text in (
            (b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28P01"),
            (b"M", f'password authentication failed for user "{self.server.users[-1]}"')))  # type: ignore[attr-defined]
        sock.sendall(b"E" + struct.pack("!i", len(fields) + 5) + fields + b"\0")


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


@pytest.fixture
def fake_postgres() -> Iterator[FakePostgres]:
    server = FakePostgres()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_wrong_password_is_named(tmp_path, fake_postgres):
    port = fake_postgres.server_address[1]
    url = f"postgresql+asyncpg://qihu:wrong@127.0.0.1:{port}/qihu"
    stops(start(tmp_path, QIHU_DATABASE__URL=url), f"PostgreSQL 127.0.0.1:{port} 拒绝了用户 qihu 的密码")
    assert "qihu" in fake_postgres.users


@pytest.mark.skipif(not PG_URL, reason="needs QIHU_TEST_DATABASE_URL (a real PostgreSQL)")
def test_unknown_role_and_missing_database_on_a_real_postgresql(tmp_path):
    real = make_url(PG_URL)
    where = f"{real.host}:{real.port or 5432}"
    nobody = real.set(username="qihu_no_such_role", password="x")
    stops(start(tmp_path, "db", "upgrade", QIHU_DATABASE__URL=nobody.render_as_string(hide_password=False)),
          f"PostgreSQL {where} 拒绝登录", "qihu_no_such_role")
    missing = real.set(database="qihu_no_such_database")
    stops(start(tmp_path, "run", QIHU_DATABASE__URL=missing.render_as_string(hide_password=False)),
          f"PostgreSQL {where} 上没有数据库 qihu_no_such_database", "createdb")


def test_sqlite_file_in_a_missing_directory(tmp_path):
    stops(start(tmp_path, "db", "upgrade", QIHU_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path}/nowhere/q.db"),
          f"SQLite 数据库文件 {tmp_path}/nowhere/q.db 所在的目录不存在")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_sqlite_file_in_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        stops(start(tmp_path, QIHU_DATABASE__URL=f"sqlite+aiosqlite:///{locked}/q.db"), "不可写")
    finally:
        locked.chmod(0o700)


def test_database_url_of_an_unsupported_driver(tmp_path):
    stops(start(tmp_path, QIHU_DATABASE__URL="mysql://qihu@db/qihu"), "database.url 的驱动 mysql 不受支持")


def test_unknown_time_zone(tmp_path):
    stops(start(tmp_path, "db", "upgrade", QIHU_APPEALS__TIMEZONE="Asia/Beijing"),
          "appeals.timezone 的时区 'Asia/Beijing' 不存在")
    assert not (tmp_path / "qihu.db").exists()  # nothing was written


@pytest.mark.parametrize(("variable", "key"), [
    ("QIHU_NLP__RULES_FILE", "nlp.rules_file"),
    ("QIHU_CALENDAR__EXTRA_DAYS_FILE", "calendar.extra_days_file"),
    ("QIHU_EVALUATION__TAGS_FILE", "evaluation.tags_file"),
])
def test_missing_rules_calendar_or_tags_file(tmp_path, variable, key):
    stops(start(tmp_path, **{variable: "missing.toml"}), f"配置项 {key} 指定的文件不存在", "missing.toml")


def test_broken_calendar_file_names_the_key_and_the_loader_words(tmp_path):
    (tmp_path / "days.toml").write_text('holidays = ["2026-13-01"]\n', encoding="utf-8")
    stops(start(tmp_path, QIHU_CALENDAR__EXTRA_DAYS_FILE="days.toml"),
          "配置项 calendar.extra_days_file 指定的文件有误", "days.toml", "month must be in 1..12")


def test_missing_org_csv_is_named_relative_to_the_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[org]\nunits_csv = "units.csv"\n', encoding="utf-8")
    stops(qihu("outbox", "list", cwd=tmp_path, env={"QIHU_CONFIG": str(config)}),
          "配置项 org.units_csv 指定的文件不存在", str(tmp_path / "units.csv"))


def test_port_already_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stops(start(tmp_path, QIHU_SERVER__PORT=str(port), QIHU_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path}/q.db"),
              f"端口 127.0.0.1:{port} 已被占用", "server.port")
    assert not (tmp_path / "q.db").exists()  # refused before the database was touched


def test_invalid_values_are_summarised_in_one_line_naming_each_key(tmp_path):
    (tmp_path / "config.toml").write_text('[server]\nport = 70000\n[appeals]\nnumber_prefix = "qh"\n',
                                          encoding="utf-8")
    line = stops(qihu("run", cwd=tmp_path), "server.port", "70000", "appeals.number_prefix", "'qh'")
    assert "；" in line
    stops(start(tmp_path, QIHU_SERVER__PORT="eighty"), "server.port", "'eighty'")


@pytest.mark.parametrize(("typo", "meant"), [
    ("QIHU_WEBCHATT__DEMO_MODE", "QIHU_WEBCHAT__DEMO_MODE"),
    ("QIHU_WEBCHAT_DEMO_MODE", "QIHU_WEBCHAT__DEMO_MODE"),
    ("QIHU_DATABASE_URL", "QIHU_DATABASE__URL"),
    ("QIHU_CHANNELS__DINGTALK__APPSECRET", "QIHU_CHANNELS__DINGTALK__APP_SECRET"),
])
def test_misspelt_environment_variable_stops_with_the_nearest_valid_name(tmp_path, typo, meant):
    stops(start(tmp_path, "db", "upgrade", **{typo: "false"}), f"环境变量 {typo} 不对应任何配置项", f"是否应为 {meant}")
    assert not (tmp_path / "qihu.db").exists()


def test_unrelated_environment_variable_points_to_the_naming_scheme(tmp_path):
    stops(start(tmp_path, "db", "upgrade", QIHU_FOO="1"), "环境变量 QIHU_FOO 不对应任何配置项", "QIHU_节__键")


def test_valid_and_project_variables_start_normally(tmp_path):
    result = start(tmp_path, "db", "upgrade", QIHU_WEBCHAT__DEMO_MODE="false", QIHU_FUZZ_EXAMPLES="5",
                   QIHU_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path}/ok.db")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ok.db").exists()


@pytest.mark.skipif(not PG_URL, reason="needs QIHU_TEST_DATABASE_URL (a real PostgreSQL)")
def test_database_password_is_masked_in_what_commands_print(tmp_path):
    with_password = make_url(PG_URL).set(password="do-not-print-me").render_as_string(hide_password=False)
    result = start(tmp_path, "db", "upgrade", QIHU_DATABASE__URL=with_password)  # trust auth ignores it
    assert result.returncode == 0, result.stderr
    assert "do-not-print-me" not in result.stdout + result.stderr and ":***@" in result.stdout


def test_scheduler_stops_on_sigterm_without_a_traceback(tmp_path):
    import signal
    import subprocess
    import sys
    env = {**os.environ, "QIHU_CONFIG": EXAMPLE, "QIHU_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path}/s.db"}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "scheduler"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert "定时任务已启动" in proc.stdout.readline()  # printed once the scheduler runs
    before = []
    for line in proc.stderr:  # the first pass runs at once; stop between passes, as an operator usually does
        before.append(line)
        if "executed successfully" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in "".join(before) + err and "Scheduler has been shut down" in err
