"""`qihu backup` / `qihu restore`: SQLite through the online backup API; PostgreSQL through pg_dump."""

from __future__ import annotations

import argparse
import os
import shlex
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from bot.cli.common import settings_from
from storage.engine import BUSY_TIMEOUT_MS, is_sqlite

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupRefused(Exception):
    """A one-line Chinese reason; the command prints it and exits 2, having written nothing."""


@dataclass
class CopyResult:
    tables: dict[str, int]  # rows per table of the copy
    bytes: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def sqlite_path(url: str) -> Path:
    database = make_url(url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupRefused(f"数据库地址 {url} 不是 SQLite 文件，无法备份或恢复")
    return Path(database)


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                        "ORDER BY name").fetchall()
    return [r[0] for r in rows]


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in _tables(conn)}


def _check_copy(conn: sqlite3.Connection, what: Path) -> None:
    """A usable qihu database: intact pages and foreign keys, and a schema version to migrate from."""
    verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise BackupRefused(f"{what} 已损坏（integrity_check：{verdict}）")
    if "alembic_version" not in _tables(conn):
        raise BackupRefused(f"{what} 不是企呼的数据库备份（没有 alembic_version 表）")
    broken = conn.execute("PRAGMA foreign_key_check").fetchone()
    if broken is not None:
        raise BackupRefused(f"{what} 中 {broken[0]} 表的第 {broken[1]} 行引用了不存在的 {broken[2]} 记录")


def backup_sqlite(source: Path, out: Path) -> CopyResult:
    """Copy `source` to `out` while other connections keep writing to it.

    One backup step of all pages (pages=-1) runs inside one read transaction: with WAL, writers go
    on appending meanwhile, and the copy is the database as of that transaction's start. Copying in
    several steps would instead restart after every write by another connection, and under a steady
    load might never finish. The copy is written beside `out`, checked, then renamed into place, so
    `out` is never a half-written file.
    """
    started = time.monotonic()
    if not source.is_file() or source.stat().st_size == 0:
        raise BackupRefused(f"数据库文件不存在或为空：{source}")
    if not out.parent.is_dir():
        raise BackupRefused(f"备份目录不存在：{out.parent}")
    part = out.with_name(out.name + ".part")
    part.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(part)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
            _check_copy(dst, out)
            tables = table_counts(dst)
        finally:
            dst.close()
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    with part.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(part, out)
    return CopyResult(tables, out.stat().st_size, time.monotonic() - started)


def non_empty_tables(path: Path) -> dict[str, int]:
    """Tables holding rows (the schema version aside); a missing or zero-length file has none."""
    if not path.exists() or path.stat().st_size == 0:
        return {}
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        return {k: v for k, v in table_counts(conn).items() if v and k != "alembic_version"}
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"目标 {path} 不是可用的 SQLite 数据库（{exc}），拒绝覆盖") from None
    finally:
        conn.close()


def restore_sqlite(backup: Path, target: Path) -> CopyResult:
    """Copy a backup into `target`, which must be empty: a restore never overwrites data."""
    started = time.monotonic()
    if not backup.is_file():
        raise BackupRefused(f"备份文件不存在：{backup}")
    with backup.open("rb") as fh:
        if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupRefused(f"{backup} 不是 SQLite 数据库文件")
    if not target.parent.is_dir():
        raise BackupRefused(f"目标目录不存在：{target.parent}")
    src = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    try:
        _check_copy(src, backup)
        filled = non_empty_tables(target)
        if filled:
            first = {"appeals": 0, "enterprises": 1}  # the data people would miss, then the largest
            largest = sorted(filled.items(), key=lambda kv: (first.get(kv[0], 2), -kv[1]))
            shown = "、".join(f"{k} {v} 行" for k, v in largest[:3]) + ("等" if len(largest) > 3 else "")
            raise BackupRefused(f"目标数据库 {target} 不是空库（{shown}），拒绝覆盖；请恢复到新的数据库文件"
                                f"（--config 或 QIHU_DATABASE__URL 指向它）")
        dst = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            src.backup(dst)
            tables = table_counts(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return CopyResult(tables, target.stat().st_size, time.monotonic() - started)


def pg_commands(url: str, file: str) -> tuple[list[str], list[str], str]:
    """pg_dump and pg_restore for `url` (custom format, no owners), and how to give the password.

    The password itself is never printed: libpq reads it from PGPASSWORD or ~/.pgpass."""
    u = make_url(url)
    conn = [f"--host={u.host or '127.0.0.1'}", f"--port={u.port or 5432}"]
    if u.username:
        conn.append(f"--username={u.username}")
    conn.append(f"--dbname={u.database or ''}")
    dump = ["pg_dump", "--format=custom", "--no-owner", *conn, f"--file={file}"]
    restore = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", *conn, file]
    hint = ("该地址含密码（此处不显示）：运行前先 export PGPASSWORD='<密码>'，或写入 ~/.pgpass"
            if u.password else "")
    return dump, restore, hint


def _print_pg(url: str, file: str, restoring: bool) -> None:
    dump, restore, hint = _pg_plan(url, file)
    if restoring:
        print(f"PostgreSQL 请用 pg_restore 恢复到空库（qihu restore 只处理 SQLite），命令：\n  {restore}")
    else:
        print(f"PostgreSQL 请用 pg_dump 备份（qihu backup 只处理 SQLite），命令：\n  {dump}")
        print(f"恢复（到新建的空库）：\n  {restore}")
    if hint:
        print(hint)


def _pg_plan(url: str, file: str) -> tuple[str, str, str]:
    dump, restore, hint = pg_commands(url, file)
    return shlex.join(dump), shlex.join(restore), hint


def cmd_backup(args: argparse.Namespace) -> None:
    url = settings_from(args).database.url
    if not is_sqlite(url):
        _print_pg(url, args.out, restoring=False)
        raise SystemExit(2)
    try:
        source = sqlite_path(url)
        result = backup_sqlite(source, Path(args.out))
    except (BackupRefused, sqlite3.Error) as exc:
        print(f"备份失败：{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"已备份 {source} → {args.out}：{len(result.tables)} 张表，{result.rows} 行，"
          f"{result.bytes / 1024:.0f} KB，用时 {result.seconds:.2f} 秒")


def cmd_restore(args: argparse.Namespace) -> None:
    url = settings_from(args).database.url
    if not is_sqlite(url):
        _print_pg(url, args.file, restoring=True)
        raise SystemExit(2)
    try:
        target = sqlite_path(url)
        result = restore_sqlite(Path(args.file), target)
    except (BackupRefused, sqlite3.Error) as exc:
        print(f"恢复失败：{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"已从 {args.file} 恢复到 {target}：{len(result.tables)} 张表，{result.rows} 行，"
          f"用时 {result.seconds:.2f} 秒。启动 qihu run 时表结构会自动升级到当前版本。")


def register(sub: Any) -> None:  # argparse's subparsers action (its class is private)
    """The two commands, for bot/cli/parser.py build_parser."""
    backup = sub.add_parser("backup", help="备份数据库（SQLite 在线备份；PostgreSQL 给出 pg_dump 命令）")
    backup.add_argument("--out", required=True, help="备份文件，如 /var/backups/qihu/qihu-$(date +%%F).db")
    backup.set_defaults(fn=cmd_backup)
    restore = sub.add_parser("restore", help="从备份恢复到空数据库（目标非空时拒绝）")
    restore.add_argument("file", help="qihu backup 生成的备份文件")
    restore.set_defaults(fn=cmd_restore)
