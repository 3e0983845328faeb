"""SQL repository for the tracked improvement items (为企办实事, 改革任务, 薄弱环节跟进) and their entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.services.ports import ImprovementEntry, ImprovementItem
from storage import tables as t

LOCK_BASE = 0x71_6A_00  # advisory lock keys of qihu's improvement items, one per kind
KIND_LOCKS = {"shishi": 1, "reform": 2, "followup": 3}
ITEM_FIELDS = [c.name for c in t.improvement_items.c]
ENTRY_FIELDS = [c.name for c in t.improvement_entries.c]


def _item(r: Any) -> ImprovementItem:
    m = r._mapping
    values = {name: m[name] for name in ITEM_FIELDS}
    values["appeal_numbers"] = list(values["appeal_numbers"] or [])
    values["facts"] = dict(values["facts"] or {})
    return ImprovementItem(**values)


def _entry(r: Any) -> ImprovementEntry:
    m = r._mapping
    return ImprovementEntry(**{name: m[name] for name in ENTRY_FIELDS})


class SqlImprovementRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, item: ImprovementItem) -> ImprovementItem:
        """Store a new item numbered after the last of its kind; an item whose source_key is stored already
        (a finding collected by someone else meanwhile) is not stored again: the stored one is returned."""
        c = t.improvement_items.c
        if self.conn.dialect.name == "postgresql":
            # Writers of one kind take turns until commit: max(seq) + 1 and the source_key check below
            # then see every committed item, so two dispatchers listing at once cannot collide.
            await self.conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                    {"key": LOCK_BASE + KIND_LOCKS.get(item.kind, 0)})
        if item.source_key is not None:
            existing = await self.by_source_key(item.kind, item.source_key)
            if existing is not None:
                return existing
        last = (await self.conn.execute(select(func.max(c.seq)).where(c.kind == item.kind))).scalar()
        item.seq = (last or 0) + 1
        values = {k: v for k, v in asdict(item).items() if k != "id"}
        item.id = (await self.conn.execute(insert(t.improvement_items).returning(c.id), values)).scalar_one()
        return item

    async def save(self, item: ImprovementItem) -> None:
        values = {k: v for k, v in asdict(item).items() if k != "id"}
        await self.conn.execute(update(t.improvement_items).where(t.improvement_items.c.id == item.id).values(values))

    async def get(self, kind: str, seq: int) -> ImprovementItem | None:
        c = t.improvement_items.c
        row = (await self.conn.execute(select(t.improvement_items).where(c.kind == kind, c.seq == seq))).first()
        return _item(row) if row else None

    async def by_source_key(self, kind: str, source_key: str) -> ImprovementItem | None:
        c = t.improvement_items.c
        stmt = select(t.improvement_items).where(c.kind == kind, c.source_key == source_key)
        row = (await self.conn.execute(stmt)).first()
        return _item(row) if row else None

    async def items(self, kind: str | None = None, states: Sequence[str] = ()) -> list[ImprovementItem]:
        c = t.improvement_items.c
        stmt = select(t.improvement_items)
        if kind is not None:
            stmt = stmt.where(c.kind == kind)
        if states:
            stmt = stmt.where(c.state.in_(list(states)))
        return [_item(r) for r in (await self.conn.execute(stmt.order_by(c.kind, c.seq))).all()]

    async def add_entry(self, entry: ImprovementEntry) -> ImprovementEntry:
        values = {k: v for k, v in asdict(entry).items() if k != "id"}
        entry.id = (await self.conn.execute(
            insert(t.improvement_entries).returning(t.improvement_entries.c.id), values)).scalar_one()
        return entry

    async def entries(self, item_ids: Sequence[int]) -> list[ImprovementEntry]:
        if not item_ids:
            return []
        c = t.improvement_entries.c
        stmt = select(t.improvement_entries).where(c.item_id.in_(list(item_ids))).order_by(c.item_id, c.id)
        return [_entry(r) for r in (await self.conn.execute(stmt)).all()]

    async def entries_between(self, since: datetime, until: datetime) -> list[ImprovementEntry]:
        c = t.improvement_entries.c
        stmt = select(t.improvement_entries).where(c.at >= since, c.at < until).order_by(c.id)
        return [_entry(r) for r in (await self.conn.execute(stmt)).all()]

    async def active_between(self, since: datetime, until: datetime) -> list[ImprovementItem]:
        """Items that existed in [since, until) and were not finished before it: the report's lists."""
        c = t.improvement_items.c
        stmt = select(t.improvement_items).where(
            c.proposed_at < until,
            or_(c.closed_at.is_(None), c.closed_at >= since),
            ~and_(c.state == "rejected", c.decided_at < since),
        ).order_by(c.kind, c.seq)
        return [_item(r) for r in (await self.conn.execute(stmt)).all()]

    async def due_before(self, before: datetime, limit: int) -> list[ImprovementItem]:
        """Items being carried out whose deadline is before `before`, earliest first."""
        c = t.improvement_items.c
        stmt = (select(t.improvement_items).where(c.state == "assigned", c.deadline < before)
                .order_by(c.deadline, c.id).limit(limit))
        return [_item(r) for r in (await self.conn.execute(stmt)).all()]
