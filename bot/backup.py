"""`qihu backup` / `qihu restore`: SQLite through the online backup API; PostgreSQL through pg_dump."""

from __future__ import annotations

import argparse
import shlex
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.common import settings_from
from storage.backup import BackupRefused, CopyResult, backup_sqlite, restore_sqlite, sqlite_path
from storage.engine import is_sqlite, url_parts


def pg_commands(url: str, file: str) -> tuple[list[str], list[str], str]:
    """pg_dump and pg_restore for `url` (custom format, no owners), and how to give the password.

    The password itself is never printed: libpq reads it from PGPASSWORD or ~/.pgpass."""
    u = url_parts(url)
    conn = [f"--host={u.host or '127.0.0.1'}", f"--port={u.port or 5432}"]
    if u.username:
        conn.append(f"--username={u.username}")
    conn.append(f"--dbname={u.database or ''}")
    dump = ["pg_dump", "--format=custom", "--no-owner", *conn, f"--file={file}"]
    restore = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", *conn, file]
    hint = ("该地址含密码（此处不显示）：运行前先 export PGPASSWORD='<密码>'，或写入 ~/.pgpass"
            if u.has_password else "")
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


def _copy(args: argparse.Namespace, file: str, restoring: bool, copy: Callable[[Path], CopyResult]
          ) -> tuple[Path, CopyResult]:
    """The configured SQLite file and what `copy` did with it; for PostgreSQL the pg_dump and
    pg_restore commands instead. Either way out, exit 2 having written nothing."""
    url = settings_from(args).database.url
    if not is_sqlite(url):
        _print_pg(url, file, restoring)
        raise SystemExit(2)
    try:
        path = sqlite_path(url)
        return path, copy(path)
    except (BackupRefused, sqlite3.Error) as exc:
        print(f"{'恢复' if restoring else '备份'}失败：{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_backup(args: argparse.Namespace) -> None:
    source, result = _copy(args, args.out, False, lambda source: backup_sqlite(source, Path(args.out)))
    print(f"已备份 {source} → {args.out}：{len(result.tables)} 张表，{result.rows} 行，"
          f"{result.bytes / 1024:.0f} KB，用时 {result.seconds:.2f} 秒")


def cmd_restore(args: argparse.Namespace) -> None:
    target, result = _copy(args, args.file, True, lambda target: restore_sqlite(Path(args.file), target))
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
