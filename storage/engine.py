"""Engine factory: one URL, SQLite (WAL, foreign keys, one writer) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool

from bot.services.ports import StorageInterrupted
from storage.fastpath import FastStatement

BUSY_TIMEOUT_MS = 30_000
INLINE_OPTION = "qihu_sqlite_inline"  # an engine option: units of work run statements on OwnedSqlite
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}")


def shown_url(url: str) -> str:
    """The database URL with its password masked: for terminals and logs."""
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@dataclass(frozen=True)
class UrlParts:
    """A database URL's parts, for messages and for the pg_dump command line."""

    driver: str  # sqlite+aiosqlite, postgresql+asyncpg, …
    backend: str  # sqlite, postgresql
    host: str | None
    port: int | None
    username: str | None
    has_password: bool
    database: str | None


def url_parts(url: str) -> UrlParts:
    """Raises ValueError when `url` is no database URL at all."""
    try:
        u = make_url(url)
    except Exception as exc:  # sqlalchemy's ArgumentError, or a TypeError for odd input
        raise ValueError(str(exc)) from None
    return UrlParts(u.drivername, u.get_backend_name(), u.host, u.port, u.username, bool(u.password), u.database)


def sqlite_file_missing(url: str) -> str | None:
    """The path of a SQLite database file that does not exist yet; None for PostgreSQL, memory, or a present file."""
    parts = url_parts(url)
    database = parts.database or ""
    if parts.backend != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return None if Path(database).exists() else database


def prepare_sqlite(raw: Any) -> None:
    """Set up a SQLite connection of ours (the DB-API one or SQLAlchemy's adapter of aiosqlite's):
    BEGIN is sent by us, WAL, foreign keys, a busy timeout."""
    raw.isolation_level = None
    cursor = raw.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class DirectConnection:
    """The async-connection surface the repositories use (execute, commit, …) over a *sync* SQLAlchemy
    connection on an OwnedSqlite's sqlite3 connection: with statements running inline anyway, this
    skips the greenlet switch that every awaited call otherwise costs (≈ 20 a turn). Only valid while
    its GroupCommit holds the engine's pooled connection: that checkout is the lock."""

    def __init__(self, sync: Connection, raw: sqlite3.Connection) -> None:
        self.sync = sync
        self.raw = raw
        self.dialect = sync.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return self.sync.exec_driver_sql(statement, parameters)

    def run_raw(self, sql: str) -> None:
        """A statement with no result and no SQLAlchemy bookkeeping (SAVEPOINT and its kin)."""
        self.raw.execute(sql)

    async def begin(self, timeout: float = 30.0) -> None:
        """BEGIN IMMEDIATE without blocking the event loop: while another connection (another process,
        or another engine of this one) holds the write lock, wait for it asynchronously. A blocking
        busy wait here would freeze the loop, and with it the holder if it lives in this process."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            self.raw.execute("PRAGMA busy_timeout=0")
            try:
                self.raw.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
            finally:
                self.raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.002)  # the holder's gaps between transactions are short: look often
        self.sync.begin()  # SQLAlchemy's bookkeeping only: pysqlite's do_begin sends nothing

    async def commit(self) -> None:
        self.sync.commit()

    async def rollback(self) -> None:
        self.sync.rollback()

    def in_transaction(self) -> bool:
        return self.sync.in_transaction()

    async def close(self) -> None:
        self.sync.close()


class OwnedSqlite:
    """qihu's own sqlite3 connection to a database file, used on the event loop's thread, the one
    qihu runs: SQLite statements on our indexed tables take microseconds, far less than handing each
    to aiosqlite's worker thread and back (≈4 hops a statement, 25–67 µs each plus the wait for a busy
    loop to notice: performance.md, plain sqlite3 ≈11,400 commits/s vs ≈1,200 through SQLAlchemy
    async). The price: a slow query or another process holding the write lock blocks the loop for
    that long (busy_timeout; BEGIN itself waits asynchronously, DirectConnection.begin).

    A GroupCommit opens it, and uses it only while it holds the engine's one pooled connection, so
    no other unit of work of this process writes at the same time."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.raw = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
        prepare_sqlite(self.raw)
        # StaticPool hands out exactly this one sqlite3 connection. No "begin" listener:
        # DirectConnection.begin() sends BEGIN IMMEDIATE itself.
        self.engine = create_sync_engine("sqlite://", creator=lambda: self.raw, poolclass=StaticPool,
                                         pool_reset_on_return=None)

    @staticmethod
    def for_engine(engine: AsyncEngine) -> OwnedSqlite | None:
        """One for `engine`'s database file, unless it runs statements in aiosqlite's thread
        (`sqlite_inline = false`) or is in memory (another connection would see another database)."""
        database = engine.url.database or ""
        if not engine.get_execution_options().get(INLINE_OPTION) or not database or database == ":memory:":
            return None
        return OwnedSqlite(database)

    def connection(self) -> DirectConnection:
        return DirectConnection(self.engine.connect(), self.raw)

    def close(self) -> None:
        self.engine.dispose()
        self.raw.close()


class PgDriver:
    """The asyncpg connection under a checked-out SQLAlchemy connection, for the statements of every
    turn and for the transaction itself (the connection is in SQLAlchemy's autocommit mode, so
    SQLAlchemy sends no BEGIN of its own). A statement that finds the connection gone raises
    StorageInterrupted: nothing of the transaction was stored, and the caller may run it again."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.asyncpg = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]

    async def _call(self, call: Any) -> Any:
        try:
            return await call
        except Exception as exc:
            if self.asyncpg.is_closed():
                raise StorageInterrupted(str(exc)) from exc
            raise

    async def execute(self, sql: str) -> str:
        """A statement without parameters (BEGIN, COMMIT, …); returns its status, e.g. "COMMIT"."""
        return await self._call(self.asyncpg.execute(sql))

    async def fetch(self, stmt: FastStatement, params: dict[str, Any]) -> list[Any]:
        return await self._call(self.asyncpg.fetch(stmt.sql, *stmt.args(params)))

    async def fetchrow(self, stmt: FastStatement, params: dict[str, Any]) -> Any:
        values = await self._call(self.asyncpg.fetchrow(stmt.sql, *stmt.args(params)))
        return None if values is None else stmt.row(values)


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10, sqlite_inline: bool = True) -> AsyncEngine:
    """Build the engine; nothing connects until first use.

    SQLite gets a pool of exactly one connection: SQLite has one write lock, and a larger pool
    only queues connections on it (p99 ×5, performance.md). Every transaction starts with
    BEGIN IMMEDIATE so that a read-then-write turn cannot deadlock against another process.
    """
    if not is_sqlite(url):
        return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                                   pool_pre_ping=False)
    engine = create_async_engine(
        url, echo=echo, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0,
        pool_timeout=120, connect_args={"timeout": 30}, execution_options={INLINE_OPTION: sqlite_inline},
        # A Connection's close() rolls back its own transaction already; the pool's reset on return
        # would be one more trip to aiosqlite's thread for every group-commit batch (≈1 ms under load).
        pool_reset_on_return=None,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        prepare_sqlite(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def database_unreachable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database could not be reached or the connection
    died, rather than that it refused what was asked: the same work may succeed once it is back."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageInterrupted | OSError | TimeoutError | OperationalError | InterfaceError
                      | asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False
