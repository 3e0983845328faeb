"""Database: the shell's handle on the configured database (units of work, migrations, probes, privacy, close)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.domain.appeal import HANDLING_STATUSES
from bot.services.ports import UnitOfWork
from storage import tables as t
from storage.engine import create_engine
from storage.migrate import alembic_config, upgrade_async
from storage.privacy_repository import PurgeCounts, export_enterprise, purge_contacts
from storage.unit_of_work import uow_factory

log = logging.getLogger(__name__)


class Database:
    """One database: the engine (SQLAlchemy's, which stays inside storage; tests may reach it as
    `.engine`), the unit-of-work factory over it, and what the shell asks of the database as a whole."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10, sqlite_inline: bool = True,
                 group_commit_max: int = 32) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, echo=echo, pool_size=pool_size, sqlite_inline=sqlite_inline)
        self.uow: Callable[[], UnitOfWork] = uow_factory(self.engine, group_commit_max=group_commit_max)

    async def upgrade(self) -> None:
        """Migrate to head; safe on every start."""
        await upgrade_async(self.url)

    async def purge_contacts(self, cutoff: datetime, mask: Callable[[str], str], *, dry_run: bool = False
                             ) -> PurgeCounts:
        """Anonymise contact data of appeals closed before `cutoff`, in one transaction (rolled back on a dry run)."""
        async with self.engine.connect() as conn:
            await conn.begin()
            counts = await purge_contacts(conn, cutoff, mask)
            await (conn.rollback() if dry_run else conn.commit())
        return counts

    async def export_enterprise(self, uscc: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            return await export_enterprise(conn, uscc)

    async def close(self) -> None:
        """Finish the open group-commit batch (SQLite), then close every connection."""
        group = getattr(self.uow, "group", None)
        if group is not None:
            await group.close()
            if group.commits:
                log.info("group commit: %s transactions carried %s units of work", group.commits, group.members)
        await self.engine.dispose()


@cache
def migration_heads() -> frozenset[str]:
    """The revisions a database migrated to head is stamped with."""
    from alembic.script import ScriptDirectory
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


@dataclass
class Gauges:
    """Rows behind the /metrics gauges."""

    outbox: dict[tuple[str, str], int]  # (channel, status) → rows, pending and dead
    appeals: dict[str, int]  # status → appeals
    overdue: int  # being handled past their deadline


async def probe(url: str, now: datetime, counts: bool) -> tuple[set[str], Gauges | None]:
    """Revisions stamped in alembic_version, and (counts) the rows behind the gauges. A connection of
    its own: no pool to queue on behind turns, and SQLite reads here take no write lock."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            try:
                revisions = {r[0] for r in await conn.execute(text("SELECT version_num FROM alembic_version"))}
            except Exception:  # no table yet: a database never migrated
                await conn.rollback()
                revisions = set()
            if not counts or not revisions:
                return revisions, None
            o, a = t.outbox.c, t.appeals.c
            outbox = await conn.execute(select(o.channel, o.status, func.count()).where(
                o.status.in_(["pending", "dead"])).group_by(o.channel, o.status))
            appeals = await conn.execute(select(a.status, func.count()).group_by(a.status))
            overdue = await conn.execute(select(func.count()).select_from(t.appeals).where(
                a.status.in_(sorted(s.value for s in HANDLING_STATUSES)), a.due_at < now))
            return revisions, Gauges({(c, s): n for c, s, n in outbox.all()}, {s: n for s, n in appeals.all()},
                                     overdue.scalar_one())
    finally:
        await engine.dispose()
