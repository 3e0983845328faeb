"""Engine factory: one URL, SQLite (WAL, foreign keys, one writer) or PostgreSQL (asyncpg)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """Build the engine; nothing connects until first use.

    SQLite gets a pool of exactly one connection: SQLite has one write lock, and a larger pool
    only queues connections on it (p99 ×5, performance.md). Every transaction starts with
    BEGIN IMMEDIATE so that a read-then-write turn cannot deadlock against another process.
    """
    if not is_sqlite(url):
        return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                                   pool_pre_ping=True)
    engine = create_async_engine(
        url, echo=echo, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0,
        pool_timeout=120, connect_args={"timeout": 30},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
