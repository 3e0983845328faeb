"""Start-up checks and the one-line explanation of a failed start (unknown env, files, zone, database, port)."""

from __future__ import annotations

import errno
import os
import re
import socket
import typing
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import StartupError


def preflight(settings: typing.Any) -> None:
    """What `build_app` would trip over, checked first so the message can name the config key."""
    try:
        ZoneInfo(settings.appeals.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise StartupError(f"配置项 appeals.timezone 的时区 {settings.appeals.timezone!r} 不存在"
                           "（应为 IANA 时区名，如 Asia/Shanghai）") from None
    _check_database_url(settings.database.url)
    from bot.domain.calendar import WorkCalendar
    from bot.domain.rating import TagSet
    from nlp.rules import KeywordRules
    files = (("nlp.rules_file", settings.nlp.rules_file, KeywordRules.load),
             ("calendar.extra_days_file", settings.calendar.extra_days_file, WorkCalendar.from_file),
             ("evaluation.tags_file", settings.evaluation.tags_file, TagSet.load))
    for key, value, load in files:
        if not value:
            continue
        path = Path(value)
        if not path.is_file():
            raise StartupError(f"配置项 {key} 指定的文件不存在：{path.resolve()}")
        try:
            load(path)
        except OSError as exc:
            raise StartupError(f"配置项 {key} 指定的文件无法读取：{path}（{exc.strerror}）") from None
        except Exception as exc:  # TOML syntax, bad dates, bad weights: the loader's own words
            raise StartupError(f"配置项 {key} 指定的文件有误：{path}：{one_line(str(exc))}") from None


DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


def _check_database_url(url: str) -> None:
    from storage.engine import url_parts
    try:
        u = url_parts(url)
    except ValueError:
        raise StartupError(f"配置项 database.url 格式有误：{url!r}（例：sqlite+aiosqlite:///./qihu.db"
                           " 或 postgresql+asyncpg://用户@主机:5432/库名）") from None
    if u.driver not in DRIVERS:
        raise StartupError(f"配置项 database.url 的驱动 {u.driver} 不受支持：请用 {' 或 '.join(DRIVERS)}")
    if u.backend == "sqlite" and u.database and u.database != ":memory:":
        # aiosqlite reports a missing directory from its worker thread after the loop is gone; say it first
        path = Path(u.database).resolve()
        if not path.parent.is_dir():
            raise StartupError(f"SQLite 数据库文件 {path} 所在的目录不存在：请先创建它，或修改配置项 database.url")
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise StartupError(f"SQLite 数据库文件 {path} 不可写（SQLite 还要在同一目录写 -wal 文件）："
                               "请检查文件和目录的权限，或修改配置项 database.url")


def check_port_free(host: str, port: int) -> None:
    """Fail before migrating the database when another process already listens on server.port."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"配置项 server.host 的地址 {host!r} 无法解析：{exc.strerror}") from None
    for family, kind, proto, _, addr in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            try:
                sock.bind(addr)
            except OSError as exc:
                raise StartupError(_bind_failure(exc, host, port)) from None


def _bind_failure(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"端口 {host}:{port} 已被占用（另一个 qihu 或其他程序在监听）：请停止它或修改配置项 server.port"
    if exc.errno == errno.EACCES:
        return f"没有权限监听 {host}:{port}（1024 以下的端口需要特权）：请改用更大的 server.port，由 nginx 转发"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"本机没有地址 {host}，无法监听 {host}:{port}：请检查配置项 server.host"
    return f"无法监听 {host}:{port}：{exc.strerror or exc}"


def one_line(text: str) -> str:
    """A multi-line message (a list of config problems) folded into one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    return f"{lines[0]} {'；'.join(lines[1:])}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _where(url: str | None) -> tuple[str, str, str, str]:
    """(driver, host:port, user, database) of the configured URL, for naming them in a message."""
    if not url:
        return "", "", "", ""
    from storage.engine import url_parts
    try:
        u = url_parts(url)
    except ValueError:
        return "", "", "", ""
    if u.backend == "sqlite":
        return "sqlite", "", "", u.database or ""
    return u.backend, f"{u.host or 'localhost'}:{u.port or 5432}", u.username or "", u.database or ""


_PG_LOGIN = {
    "28P01": "PostgreSQL {hp} 拒绝了用户 {user} 的密码：请检查 database.url 中的密码",
    "28000": "PostgreSQL {hp} 拒绝登录：{msg}（请检查 database.url 中的用户名，以及服务器的 pg_hba.conf）",
    "3D000": "PostgreSQL {hp} 上没有数据库 {db}：请先创建它（createdb -h {host} -p {port} -U {user} {db}）",
    "42501": "PostgreSQL {hp} 上用户 {user} 权限不足：{msg}",
    "57P03": "PostgreSQL {hp} 暂时不接受连接：{msg}",
    "53300": "PostgreSQL {hp} 连接数已满：{msg}（请减小 database.pool_size 或调大 max_connections）",
}


def explain(exc: BaseException, database_url: str | None = None) -> str | None:
    """The one line for a known start-up failure, or None for a defect (which keeps its traceback)."""
    driver, hp, user, db = _where(database_url)
    host, _, port = hp.rpartition(":")
    for e in _chain(exc):
        if isinstance(e, StartupError):  # bot.config.ConfigError is one
            return one_line(str(e))
        state = getattr(e, "sqlstate", None)
        if isinstance(state, str) and state in _PG_LOGIN:
            msg = one_line(str(getattr(e, "args", [""])[0] if e.args else e))
            return _PG_LOGIN[state].format(hp=hp, host=host, port=port, user=user, db=db, msg=msg)
    for e in _chain(exc):
        text = one_line(str(e))
        if type(e).__module__.startswith("sqlalchemy") and type(e).__name__ in ("ArgumentError", "NoSuchModuleError"):
            return f"配置项 database.url 无法使用：{text}"
        if driver == "sqlite" and type(e).__name__ == "OperationalError" and "unable to open database" in text:
            where = Path(db).resolve() if db else db
            return f"无法打开 SQLite 数据库文件 {where}：目录不存在或没有写权限（请检查配置项 database.url）"
        if driver == "sqlite" and type(e).__name__ == "OperationalError" and "readonly" in text:
            where = Path(db).resolve() if db else db
            return f"SQLite 数据库文件 {where} 只读：请检查文件和所在目录的写权限"
        if isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
            bound = re.search(r"\('([^']*)', (\d+)", text)
            return _bind_failure(e, *(bound.groups() if bound else ("?", "?")))  # type: ignore[arg-type]
        if isinstance(e, OSError) and driver and driver != "sqlite" and port and _is_connect_failure(e, port):
            return (f"无法连接数据库 {hp}（{_reason(e)}）：请确认 PostgreSQL 已启动，"
                    "且配置项 database.url 的主机和端口正确")
        if isinstance(e, TimeoutError) and driver and driver != "sqlite":
            return f"连接数据库 {hp} 超时：请检查网络、防火墙和配置项 database.url"
    return None


def _is_connect_failure(e: OSError, port: str) -> bool:
    if isinstance(e, socket.gaierror):
        return True
    text = str(e)  # asyncpg: "[Errno 111] Connect call failed ('127.0.0.1', 5432)"
    return (isinstance(e, ConnectionError) or "Connect call failed" in text) and f", {port}" in text


def _reason(e: OSError) -> str:
    if isinstance(e, socket.gaierror):
        return "主机名无法解析"
    if isinstance(e, ConnectionRefusedError) or "Errno 111" in str(e):
        return "连接被拒绝"
    return e.strerror or type(e).__name__


def security_warnings(settings: typing.Any) -> list[str]:
    """Settings that weaken who-is-who, logged at every start so they are never forgotten (docs/security.md)."""
    import ipaddress
    warnings = []
    host = settings.server.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if settings.webchat.enabled and settings.webchat.demo_mode and not loopback:
        warnings.append(f"webchat.demo_mode = true while listening on {host}: demo is still refused to every "
                        "request that is not straight from this machine, but a deployment should set it false")
    ding = settings.channels.dingtalk
    if ding.enabled and ding.transport == "stream":
        pass  # no callback URL: the signature settings do not apply
    elif ding.enabled and ding.signature == "off":
        warnings.append("channels.dingtalk.signature = \"off\": anyone who can reach the callback URL can "
                        "speak as any DingTalk user, staff included")
    elif ding.enabled and ding.signature == "if_present":
        warnings.append("channels.dingtalk.signature = \"if_present\": unsigned callbacks are accepted")
    return warnings
