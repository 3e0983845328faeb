"""SQLite backup and restore through the online backup API, each copy checked before it is used."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from storage.engine import BUSY_TIMEOUT_MS, url_parts

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
    database = url_parts(url).database or ""
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
