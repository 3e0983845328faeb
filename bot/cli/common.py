"""What every `qihu` command shares: the checked settings, one build/prepare/close of the app, CSV input."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from bot.bootstrap import App, build_app
from bot.config import Settings, load_settings
from bot.startup import preflight
from storage.engine import shown_url

T = TypeVar("T")
database_url: str | None = None  # of the loaded settings, for naming host:port when the database fails


def settings_from(args: argparse.Namespace, path: str | Path | None = None) -> Settings:
    """Load and check the configuration; every command that opens it comes through here."""
    global database_url
    settings = load_settings(path or args.config)
    database_url = settings.database.url
    preflight(settings)
    return settings


def shown(url: str) -> str:
    """The database URL with its password masked: these lines end up in terminals and logs."""
    return shown_url(url)


@asynccontextmanager
async def opened_app(settings: Settings, *, prepare: bool = True, **build: Any) -> AsyncIterator[App]:
    """The app, its database migrated and the configured org loaded (unless prepare=False), closed after
    whatever happens; `build` goes to build_app (senders, clock)."""
    app = build_app(settings, **build)
    try:
        if prepare:
            await app.prepare_database()
        yield app
    finally:
        await app.close()


async def with_app(settings: Settings, work: Callable[[App], Awaitable[T]], **build: Any) -> T:
    """Run `work(app)` in opened_app."""
    async with opened_app(settings, **build) as app:
        return await work(app)


def read_import_file(path: Path, missing: Callable[[list[str]], list[str]], columns_doc: str
                     ) -> list[tuple[int, dict[str, str | None]]]:
    """The rows of an import CSV whose header names every required column (`missing` lists those it
    lacks); otherwise exit 2 naming them, before anything is opened or stored."""
    header, rows = read_csv_rows(path)
    absent = missing(header)
    if absent:
        print(f"{path}: 缺少必需的列：{'、'.join(absent)}（列名见 {columns_doc}）", file=sys.stderr)
        raise SystemExit(2)
    return rows


def read_csv_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """Header and (line number, row) pairs; Excel exports of county systems are often GBK."""
    if not path.exists():
        raise SystemExit(f"文件不存在：{path}")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SystemExit(f"{path}: 无法识别文件编码（请另存为 UTF-8 CSV）")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            rows.append((reader.line_num, row))
    return list(reader.fieldnames or []), rows
