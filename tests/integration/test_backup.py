"""qihu backup / restore: a consistent SQLite copy while turns are being written, a restore that gives
every row back and never overwrites data, and the pg_dump / pg_restore commands for PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.backup import pg_commands
from storage.backup import backup_sqlite, restore_sqlite, sqlite_path
from storage.engine import create_engine
from storage.migrate import upgrade_async
from storage.tables import metadata
from tests.conftest import PG_URL, ROOT, Chat
from tests.integration.test_filing_dialogue import file_first_appeal

SQLITE_ONLY = pytest.mark.skipif(bool(PG_URL), reason="the SQLite online backup (PostgreSQL: pg_dump, below)")


def qihu_env(url: str) -> dict[str, str]:
    return {**os.environ, "QIHU_CONFIG": str(ROOT / "config.example.toml"), "QIHU_DATABASE__URL": url}


def rows(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


@SQLITE_ONLY
async def test_backup_while_turns_are_written_then_restore_gives_back_every_row(app, settings, tmp_path):
    source = sqlite_path(settings.database.url)
    stop = asyncio.Event()
    filed = 0

    async def enterprise(w: int) -> None:
        nonlocal filed
        n = 0
        while not stop.is_set():
            await file_first_appeal(Chat(app, f"load-{w}-{n}"))
            n += 1
            filed += 1

    writers = [asyncio.create_task(enterprise(w)) for w in range(4)]
    while filed < 4:
        await asyncio.sleep(0)
    turns_before = count(source, "inbound_messages")
    copy = tmp_path / "nightly.db"
    # Another process, as cron runs it, while this one goes on writing turns.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", "--out", str(copy), cwd=tmp_path,
        env=qihu_env(settings.database.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await proc.communicate()
    stop.set()
    await asyncio.gather(*writers)
    assert proc.returncode == 0, err.decode()
    assert f"已备份 {source} → {copy}" in out.decode()

    # The copy was taken mid-load: turns before it, in it, and after it.
    turns_in_copy = count(copy, "inbound_messages")
    assert turns_before < turns_in_copy < count(source, "inbound_messages")
    # ... and it is one moment of the database: rows that never change afterwards are all in the
    # source unchanged, and every appeal in it has its submit event (no torn transaction).
    mid, live = rows(copy), rows(source)
    for table in ("appeal_events", "inbound_messages", "org_units", "staff"):
        assert set(mid[table]) <= set(live[table]), table
    conn = sqlite3.connect(copy)
    orphans = conn.execute("SELECT count(*) FROM appeals a WHERE NOT EXISTS (SELECT 1 FROM appeal_events e "
                           "WHERE e.appeal_id = a.id AND e.action = 'submit')").fetchone()[0]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok" and orphans == 0
    assert count(copy, "appeals") > 0
    conn.close()

    # Restore it with the command into a new, empty database: every table, every row.
    target = tmp_path / "restored.db"
    restored = subprocess.run([sys.executable, "-m", "bot", "restore", str(copy)], cwd=tmp_path, text=True,
                              capture_output=True, env=qihu_env(f"sqlite+aiosqlite:///{target}"), timeout=120)
    assert restored.returncode == 0, restored.stderr
    assert rows(target) == mid

    # With the writers stopped, a backup and restore give the live database back exactly.
    final, again = tmp_path / "final.db", tmp_path / "again.db"
    backup_sqlite(source, final)
    restore_sqlite(final, again)
    assert rows(again) == rows(source)
    assert len(rows(again)["appeals"]) == count(source, "appeals") > 4


@SQLITE_ONLY
async def test_restore_refuses_a_database_that_holds_data(app, settings, tmp_path):
    await file_first_appeal(Chat(app, "ent-1"))
    copy = tmp_path / "copy.db"
    backup_sqlite(sqlite_path(settings.database.url), copy)
    before = rows(sqlite_path(settings.database.url))
    refused = subprocess.run([sys.executable, "-m", "bot", "restore", str(copy)], cwd=tmp_path, text=True,
                             capture_output=True, env=qihu_env(settings.database.url), timeout=120)
    assert refused.returncode == 2
    assert "不是空库" in refused.stderr and "appeals 1 行" in refused.stderr and "拒绝覆盖" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert rows(sqlite_path(settings.database.url)) == before

    # A migrated but empty database (qihu db upgrade, nothing loaded yet) is a fine target.
    empty = tmp_path / "empty.db"
    await upgrade_async(f"sqlite+aiosqlite:///{empty}")
    restore_sqlite(copy, empty)
    assert rows(empty) == rows(copy)


def test_backup_and_restore_refuse_what_they_cannot_use(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database", encoding="utf-8")
    for args, url, reason in [
        (["restore", str(junk)], f"sqlite+aiosqlite:///{tmp_path}/a.db", "不是 SQLite 数据库文件"),
        (["restore", str(tmp_path / "missing.db")], f"sqlite+aiosqlite:///{tmp_path}/a.db", "备份文件不存在"),
        (["backup", "--out", str(tmp_path / "x.db")], f"sqlite+aiosqlite:///{tmp_path}/none.db", "数据库文件不存在"),
        (["backup", "--out", str(tmp_path / "no" / "x.db")], f"sqlite+aiosqlite:///{junk}", "备份目录不存在"),
    ]:
        result = subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, text=True,
                                capture_output=True, env=qihu_env(url), timeout=120)
        assert result.returncode == 2, result
        assert reason in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.db").exists() or (tmp_path / "a.db").stat().st_size == 0


def test_postgresql_gets_the_pg_dump_commands_without_the_password(tmp_path):
    url = "postgresql+asyncpg://qihu:s3cret-pw@db.county.example:5433/qihu"
    result = subprocess.run([sys.executable, "-m", "bot", "backup", "--out", "/var/backups/qihu.dump"],
                            cwd=tmp_path, text=True, capture_output=True, env=qihu_env(url), timeout=120)
    assert result.returncode == 2
    assert ("pg_dump --format=custom --no-owner --host=db.county.example --port=5433 --username=qihu "
            "--dbname=qihu --file=/var/backups/qihu.dump") in result.stdout
    assert "pg_restore --no-owner --exit-on-error --single-transaction --host=db.county.example" in result.stdout
    assert "PGPASSWORD" in result.stdout and "s3cret" not in result.stdout + result.stderr
    restore = subprocess.run([sys.executable, "-m", "bot", "restore", "/var/backups/qihu.dump"],
                             cwd=tmp_path, text=True, capture_output=True, env=qihu_env(url), timeout=120)
    assert restore.returncode == 2 and "pg_restore" in restore.stdout and "s3cret" not in restore.stdout


async def _pg_rows(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            out = {}
            for table in [*metadata.sorted_tables, "alembic_version"]:
                name = getattr(table, "name", table)
                result = await conn.execute(text(f'SELECT * FROM "{name}"'))
                out[name] = sorted((tuple(r) for r in result), key=repr)
            return out
    finally:
        await engine.dispose()


@pytest.mark.skipif(not PG_URL or not shutil.which("pg_dump"), reason="PostgreSQL and pg_dump needed")
async def test_the_printed_pg_commands_back_up_and_restore_every_row(app, settings, tmp_path):
    await file_first_appeal(Chat(app, "ent-1"))
    dump = tmp_path / "qihu.dump"
    url = settings.database.url
    before = await _pg_rows(url)
    dump_cmd, restore_cmd, _ = pg_commands(url, str(dump))
    subprocess.run(dump_cmd, check=True, timeout=120)
    engine = create_engine(url)
    async with engine.begin() as conn:  # an empty database, as a new server would have
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    result = subprocess.run(restore_cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (shlex.join(restore_cmd), result.stderr)
    assert await _pg_rows(url) == before
    assert len(before["appeals"]) == 1
