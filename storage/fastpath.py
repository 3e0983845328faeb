"""Statements of every turn compiled once and run on the sqlite3 connection itself, skipping SQLAlchemy's
execution context, which costs several times what SQLite takes to run them (docs/benchmarks.md)."""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeEngine

from storage.tables import UtcDateTime


def _utc_to_text() -> Callable[[datetime | None], str | None]:
    """SQLAlchemy's SQLite DATETIME text of an aware time, in UTC, without SQLAlchemy's two layers of
    processors; a turn binds the same `now` several times, so the last one is remembered."""
    last: list[Any] = [None, None]

    def convert(value: datetime | None) -> str | None:
        if value is None:
            return None
        if value is last[0]:
            return last[1]
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        last[0], last[1] = value, text
        return text

    return convert


def _text_to_utc(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect,
                    utc: Callable[[datetime | None], str | None]) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite":
        if isinstance(type_, UtcDateTime):
            return utc
        if isinstance(type_, JSON):
            return json.dumps  # what SQLAlchemy's JSON does with no serializer configured
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite":
        if isinstance(type_, UtcDateTime):
            return _text_to_utc
        if isinstance(type_, JSON):
            return lambda v: None if v is None else json.loads(v)
    return type_.dialect_impl(dialect).result_processor(dialect, None)


class FastStatement:
    """One statement as DB-API SQL plus the type conversions SQLAlchemy would have applied, so the
    values stored and read are exactly those of the SQLAlchemy path (tests compare the two)."""

    def __init__(self, stmt: ClauseElement, dialect: Dialect, keys: Sequence[str] | None = None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if compiled.positiontup is None:
            raise ValueError(f"{dialect.name} has no positional parameters: no fast path")
        self.sql = compiled.string
        bind_types = {name: bind.type for name, bind in compiled.binds.items()}
        utc = _utc_to_text()  # one per statement: its times are mostly the same `now`
        self.binds: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
            (name, _bind_processor(bind_types[name], dialect, utc)) for name in compiled.positiontup)
        columns = list(getattr(stmt, "exported_columns", ()))  # a query's columns, or an insert's RETURNING
        self.result_procs = tuple(_result_processor(c.type, dialect) for c in columns)
        self.row_type = namedtuple("Row", [c.key for c in columns]) if columns else None  # type: ignore[misc]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [p(params[name]) if p else params[name] for name, p in self.binds]

    def row(self, values: Sequence[Any]) -> Any:
        assert self.row_type is not None
        return self.row_type(*(p(v) if p else v for p, v in zip(self.result_procs, values, strict=True)))
