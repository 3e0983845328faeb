"""SQL for scheduled work: due-work queries that follow the indexes, the "sent" ledger, digest figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.appeal import Appeal
from bot.services.ports import Holding
from storage import tables as t
from storage.repositories import SqlAppealRepository, _upsert

CLOCK_COLUMNS = ("due_at", "status_since")


class SqlSweepRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @property
    def _pg(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    async def claim(self, kind: str, subject: str, slot: str, now: datetime, *, ref_at: datetime | None = None,
                    appeal_id: int | None = None, recipients: int = 0) -> bool:
        """True exactly once per (kind, subject, slot): the ledger row commits with the outbox rows.

        On PostgreSQL a second scheduler's INSERT waits for the first one's transaction and then
        does nothing; on SQLite the whole sweep transaction holds the write lock (BEGIN IMMEDIATE).
        """
        stmt = _upsert(self.conn, t.scheduled_sends).values(
            kind=kind, subject=subject[:64], slot=slot[:40], ref_at=ref_at, appeal_id=appeal_id,
            recipients=recipients, sent_at=now).on_conflict_do_nothing()
        return (await self.conn.execute(stmt)).rowcount == 1

    def _not_sent(self, kind: str, subject, slot: str | None, ref):  # type: ignore[no-untyped-def]
        s = t.scheduled_sends.c
        cond = [s.kind == kind, s.subject == subject]
        cond.append(s.slot == slot if slot is not None else s.ref_at == ref)
        return ~exists().where(and_(*cond))

    async def appeals_due(self, kind: str, statuses: Sequence[str], column: str, *, before: datetime,
                          after: datetime | None = None, slot: str | None = None, after_id: int = 0,
                          limit: int = 200) -> list[Appeal]:
        """Appeals in `statuses` whose clock `column` is < before (and > after), with no ledger row of
        `kind` for them yet: for `slot` when given, else for this value of the clock (a moved
        deadline or a new status spell is a new occurrence). Keyset-paged by id; on PostgreSQL the
        rows are locked FOR UPDATE SKIP LOCKED, so a second scheduler takes other rows, not these.
        """
        if column not in CLOCK_COLUMNS:
            raise ValueError(column)
        a = t.appeals.c
        clock = a[column]
        # `id + 0`, not `id`: ordered and paged by the bare primary key, SQLite (after an ANALYZE,
        # which leaves it thinking a third of all appeals share each status) walks every appeal ever
        # stored instead of the (status, clock) index: 190 ms instead of 3 ms at 1M.
        paging = a.id + 0
        stmt = select(t.appeals).where(a.status.in_(list(statuses)), clock < before, paging > after_id,
                                       self._not_sent(kind, a.number, slot, clock))
        if after is not None:
            stmt = stmt.where(clock > after)
        stmt = stmt.order_by(paging).limit(limit)
        if self._pg:
            stmt = stmt.with_for_update(skip_locked=True, of=t.appeals)
        return [SqlAppealRepository._appeal(r) for r in (await self.conn.execute(stmt)).all()]

    async def unsigned_spells(self, kind: str, before: datetime, *, after_id: int = 0,
                              limit: int = 200) -> list[tuple[Appeal, Holding]]:
        """Open holder spells not signed off whose sign-off deadline is before `before`, not yet reminded,
        earliest deadline first. Claimed spells drop out, so callers page by asking again (after_id is
        ignored): ordering by id instead would make SQLite walk every spell ever stored by rowid."""
        h, a = t.appeal_holdings.c, t.appeals.c
        subject = cast(h.id, String(64))
        stmt = (
            select(t.appeals, *[col.label(f"h_{col.name}") for col in t.appeal_holdings.c])
            .join(t.appeal_holdings, h.appeal_id == a.id)
            .where(h.ended_at.is_(None), h.accepted_at.is_(None), h.signoff_due_at < before,
                   self._not_sent(kind, subject, "once", None))
            .order_by(h.signoff_due_at).limit(limit)
        )
        if self._pg:
            stmt = stmt.with_for_update(skip_locked=True, of=t.appeal_holdings)
        out = []
        for r in (await self.conn.execute(stmt)).all():
            m = r._mapping
            spell = Holding(**{col.name: m[f"h_{col.name}"] for col in t.appeal_holdings.c})
            out.append((SqlAppealRepository._appeal(r), spell))
        return out

    async def units_holding(self) -> list[str]:
        """Units with at least one open holder spell (they get a to-do digest)."""
        h = t.appeal_holdings.c
        stmt = select(h.unit_id).where(h.ended_at.is_(None)).distinct().order_by(h.unit_id)
        return list((await self.conn.execute(stmt)).scalars())

    async def count_new(self, since: datetime, until: datetime) -> int:
        a = t.appeals.c
        stmt = select(func.count()).select_from(t.appeals).where(a.submitted_at >= since, a.submitted_at < until)
        return (await self.conn.execute(stmt)).scalar_one()

    async def count_events(self, since: datetime, until: datetime) -> list[tuple[str, str, str | None, int]]:
        """(action, to_status, lead unit, count) of the events in [since, until)."""
        e, a = t.appeal_events.c, t.appeals.c
        stmt = (select(e.action, e.to_status, a.lead_unit_id, func.count())
                .join(t.appeals, a.id == e.appeal_id)
                .where(e.at >= since, e.at < until)
                .group_by(e.action, e.to_status, a.lead_unit_id))
        return [(r[0], r[1], r[2], r[3]) for r in (await self.conn.execute(stmt)).all()]

    async def open_by_unit(self, statuses: Sequence[str]) -> list[tuple[str | None, int]]:
        a = t.appeals.c
        stmt = (select(a.lead_unit_id, func.count()).where(a.status.in_(list(statuses)))
                .group_by(a.lead_unit_id))
        return [(r[0], r[1]) for r in (await self.conn.execute(stmt)).all()]

    async def due_before(self, statuses: Sequence[str], before: datetime, limit: int) -> list[Appeal]:
        """Appeals in `statuses` due before `before`, earliest deadline first."""
        a = t.appeals.c
        stmt = (select(t.appeals).where(a.status.in_(list(statuses)), a.due_at < before)
                .order_by(a.due_at, a.id).limit(limit))
        return [SqlAppealRepository._appeal(r) for r in (await self.conn.execute(stmt)).all()]

    async def count_due_before(self, statuses: Sequence[str], before: datetime) -> int:
        a = t.appeals.c
        stmt = select(func.count()).select_from(t.appeals).where(a.status.in_(list(statuses)), a.due_at < before)
        return (await self.conn.execute(stmt)).scalar_one()

    async def count_status(self, statuses: Sequence[str]) -> int:
        a = t.appeals.c
        stmt = select(func.count()).select_from(t.appeals).where(a.status.in_(list(statuses)))
        return (await self.conn.execute(stmt)).scalar_one()
