"""SQL repository for dispatch and handling: holder spells, extensions, import refs, work lists."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.appeal import HOLDING_STATUSES, Appeal, Status
from bot.messages import ConversationKey
from bot.services.ports import ExtensionRequest, Holding
from storage import tables as t
from storage.repositories import SqlAppealRepository

HOLDING = sorted(s.value for s in HOLDING_STATUSES)


class SqlHandlingRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @staticmethod
    def _holding(r: Any) -> Holding:
        return Holding(
            appeal_id=r.appeal_id, unit_id=r.unit_id, role=r.role, started_at=r.started_at,
            signoff_due_at=r.signoff_due_at, due_at=r.due_at, calendar_gap=r.calendar_gap,
            accepted_at=r.accepted_at, accepted_by=r.accepted_by, reported_at=r.reported_at, report=r.report,
            ended_at=r.ended_at, end_reason=r.end_reason, id=r.id,
        )

    async def holdings(self, appeal_id: int, *, open_only: bool = False) -> list[Holding]:
        c = t.appeal_holdings.c
        stmt = select(t.appeal_holdings).where(c.appeal_id == appeal_id)
        if open_only:
            stmt = stmt.where(c.ended_at.is_(None))
        return [self._holding(r) for r in (await self.conn.execute(stmt.order_by(c.id))).all()]

    async def add_holding(self, holding: Holding) -> Holding:
        values = {k: v for k, v in asdict(holding).items() if k != "id"}
        holding.id = (await self.conn.execute(
            insert(t.appeal_holdings).returning(t.appeal_holdings.c.id), values)).scalar_one()
        return holding

    async def save_holding(self, holding: Holding) -> None:
        values = {k: v for k, v in asdict(holding).items() if k != "id"}
        await self.conn.execute(update(t.appeal_holdings).where(t.appeal_holdings.c.id == holding.id).values(values))

    async def pool(self, limit: int) -> list[Appeal]:
        c = t.appeals.c
        stmt = select(t.appeals).where(c.status == Status.SUBMITTED.value).order_by(c.submitted_at, c.id).limit(limit)
        return [SqlAppealRepository._appeal(r) for r in (await self.conn.execute(stmt)).all()]

    async def held_by_unit(self, unit_id: str) -> list[tuple[Appeal, Holding]]:
        """Open spells of this unit on appeals still being handled, earliest deadline first."""
        h, a = t.appeal_holdings.c, t.appeals.c
        stmt = (
            select(t.appeals, *[col.label(f"h_{col.name}") for col in t.appeal_holdings.c])
            .join(t.appeal_holdings, h.appeal_id == a.id)
            .where(h.unit_id == unit_id, h.ended_at.is_(None), a.status.in_(HOLDING))
            .order_by(h.due_at, a.id)
        )
        out = []
        for r in (await self.conn.execute(stmt)).all():
            m = r._mapping
            spell = Holding(**{name: m[f"h_{name}"] for name in (col.name for col in t.appeal_holdings.c)})
            out.append((SqlAppealRepository._appeal(r), spell))
        return out

    async def keys_for_unit(self, unit_id: str) -> list[ConversationKey]:
        """Chat identities of the active handlers of one unit."""
        stmt = (
            select(t.identities.c.channel, t.identities.c.external_id)
            .join(t.staff, t.staff.c.id == t.identities.c.staff_id)
            .where(t.staff.c.unit_id == unit_id, t.staff.c.role == "handler", t.staff.c.active.is_(True))
            .order_by(t.identities.c.channel, t.identities.c.external_id)
        )
        return [ConversationKey(r.channel, r.external_id) for r in (await self.conn.execute(stmt)).all()]

    @staticmethod
    def _extension(r: Any) -> ExtensionRequest:
        return ExtensionRequest(
            appeal_id=r.appeal_id, unit_id=r.unit_id, requested_by=r.requested_by, days=r.days, reason=r.reason,
            requested_at=r.requested_at, old_due_at=r.old_due_at, status=r.status, new_due_at=r.new_due_at,
            decided_by=r.decided_by, decided_at=r.decided_at, decision_note=r.decision_note, id=r.id,
        )

    async def extensions(self, appeal_id: int) -> list[ExtensionRequest]:
        c = t.extension_requests.c
        stmt = select(t.extension_requests).where(c.appeal_id == appeal_id).order_by(c.id)
        return [self._extension(r) for r in (await self.conn.execute(stmt)).all()]

    async def pending_extensions(self) -> list[tuple[str, ExtensionRequest]]:
        """(appeal number, request) for every request awaiting a dispatcher, oldest first."""
        e = t.extension_requests.c
        stmt = (select(t.extension_requests, t.appeals.c.number.label("appeal_number"))
                .join(t.appeals, t.appeals.c.id == e.appeal_id).where(e.status == "pending").order_by(e.id))
        return [(r.appeal_number, self._extension(r)) for r in (await self.conn.execute(stmt)).all()]

    async def add_extension(self, request: ExtensionRequest) -> ExtensionRequest:
        values = {k: v for k, v in asdict(request).items() if k != "id"}
        request.id = (await self.conn.execute(
            insert(t.extension_requests).returning(t.extension_requests.c.id), values)).scalar_one()
        return request

    async def save_extension(self, request: ExtensionRequest) -> None:
        values = {k: v for k, v in asdict(request).items() if k != "id"}
        await self.conn.execute(
            update(t.extension_requests).where(t.extension_requests.c.id == request.id).values(values))

    async def external_ref(self, source: str, ref: str) -> str | None:
        """The number of the appeal this outside reference already became, if any."""
        c = t.external_refs.c
        return (await self.conn.execute(
            select(t.appeals.c.number).join(t.appeals, t.appeals.c.id == c.appeal_id)
            .where(c.source == source, c.ref == ref))).scalar_one_or_none()

    async def add_external_ref(self, source: str, ref: str, appeal_id: int, now: datetime) -> None:
        await self.conn.execute(insert(t.external_refs).values(
            source=source, ref=ref, appeal_id=appeal_id, imported_at=now))
