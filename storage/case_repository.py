"""The typical-case library (典型服务判例) and the quarters' published positive and negative cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import ConversationKey
from bot.services.ports import PublishedCase, TypicalCase
from storage import tables as t
from storage.repositories import _upsert


class SqlCaseRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @staticmethod
    def _case(r: Any) -> TypicalCase:
        return TypicalCase(r.appeal_id, r.appeal_number, r.category, r.text, list(r.units), r.workdays, r.rating,
                           r.method, r.marked_by, r.marked_at, r.id)

    async def put(self, case: TypicalCase) -> TypicalCase:
        """Add the case, or replace the method and snapshot of the appeal's existing one (marked again)."""
        c = t.typical_cases.c
        values = {"appeal_id": case.appeal_id, "appeal_number": case.appeal_number, "category": case.category,
                  "text": case.text, "units": list(case.units), "workdays": case.workdays, "rating": case.rating,
                  "method": case.method, "marked_by": case.marked_by, "marked_at": case.marked_at}
        found = (await self.conn.execute(select(c.id).where(c.appeal_id == case.appeal_id))).scalar_one_or_none()
        if found is None:
            case.id = (await self.conn.execute(insert(t.typical_cases).returning(c.id), values)).scalar_one()
        else:
            await self.conn.execute(update(t.typical_cases).where(c.id == found).values(values))
            case.id = found
        return case

    async def get(self, appeal_number: str) -> TypicalCase | None:
        c = t.typical_cases.c
        r = (await self.conn.execute(select(t.typical_cases).where(c.appeal_number == appeal_number))).first()
        return self._case(r) if r else None

    async def recent(self, limit: int) -> list[TypicalCase]:
        c = t.typical_cases.c
        stmt = select(t.typical_cases).order_by(c.marked_at.desc(), c.id.desc()).limit(limit)
        return [self._case(r) for r in (await self.conn.execute(stmt)).all()]

    async def all(self, *, since: datetime | None = None, until: datetime | None = None) -> list[TypicalCase]:
        """Every case (the library is small: hundreds), oldest first; or those marked in [since, until)."""
        c = t.typical_cases.c
        stmt = select(t.typical_cases).order_by(c.marked_at, c.id)
        if since is not None:
            stmt = stmt.where(c.marked_at >= since)
        if until is not None:
            stmt = stmt.where(c.marked_at < until)
        return [self._case(r) for r in (await self.conn.execute(stmt)).all()]

    async def publish(self, cases: Sequence[PublishedCase]) -> int:
        """Record approvals; a case already published keeps its first approval. Returns how many are new."""
        new = 0
        for p in cases:
            stmt = _upsert(self.conn, t.published_cases).values(
                period=p.period, appeal_number=p.appeal_number, kind=p.kind, approved_by=p.approved_by,
                approved_at=p.approved_at).on_conflict_do_nothing()
            new += (await self.conn.execute(stmt)).rowcount or 0
        return new

    async def published(self, period: str) -> list[PublishedCase]:
        c = t.published_cases.c
        stmt = select(t.published_cases).where(c.period == period).order_by(c.approved_at, c.appeal_number)
        return [PublishedCase(r.period, r.appeal_number, r.kind, r.approved_by, r.approved_at)
                for r in (await self.conn.execute(stmt)).all()]

    async def staff_keys(self, role: str) -> list[tuple[str, ConversationKey]]:
        """(staff id, chat identity) of every active staff member of this role: one report link each."""
        stmt = (select(t.identities.c.staff_id, t.identities.c.channel, t.identities.c.external_id)
                .join(t.staff, t.staff.c.id == t.identities.c.staff_id)
                .where(t.staff.c.role == role, t.staff.c.active.is_(True))
                .order_by(t.identities.c.staff_id, t.identities.c.channel, t.identities.c.external_id))
        return [(r.staff_id, ConversationKey(r.channel, r.external_id)) for r in (await self.conn.execute(stmt)).all()]
