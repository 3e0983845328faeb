"""Statements of every turn compiled once and run on the sqlite3 connection itself, skipping SQLAlchemy's
execution context, which costs several times what SQLite takes to run them (docs/benchmarks.md)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


class FastStatement:
    """One statement as DB-API SQL plus the type conversions SQLAlchemy would have applied, so the
    values stored and read are exactly those of the SQLAlchemy path (tests compare the two)."""

    def __init__(self, stmt: ClauseElement, dialect: Dialect, keys: Sequence[str] | None = None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if compiled.positiontup is None:
            raise ValueError(f"{dialect.name} has no positional parameters: no fast path")
        self.sql = compiled.string
        processors = compiled._bind_processors
        self.binds: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
            (name, processors.get(name)) for name in compiled.positiontup)
        columns = list(getattr(stmt, "selected_columns", None) or getattr(stmt, "_returning", ()) or ())
        self.result_procs = tuple(c.type._cached_result_processor(dialect, None) for c in columns)
        self.row_type = namedtuple("Row", [c.key for c in columns]) if columns else None  # type: ignore[misc]

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(p(params[name]) if p else params[name] for name, p in self.binds)

    def row(self, values: Sequence[Any]) -> Any:
        assert self.row_type is not None
        return self.row_type(*(p(v) if p else v for p, v in zip(self.result_procs, values, strict=True)))
