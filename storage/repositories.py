"""SQL repositories over one AsyncConnection; each maps rows to domain and service types."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.appeal import (
    HANDLING_STATUSES,
    OPEN_STATUSES,
    Action,
    Actor,
    Appeal,
    AppealEvent,
    AppealType,
    Difficulty,
    Level,
    Source,
    Status,
)
from bot.messages import HELD_CHANNEL, ConversationKey, OutboundMessage
from bot.services.ports import (
    Enterprise,
    Identity,
    Membership,
    OrgUnit,
    OutboxRow,
    Staff,
    StaffLookup,
    TagCorrection,
)
from storage import tables as t
from storage.rows import outbox_rows
from storage.webhook_rows import add_webhook_rows

# The domain's status sets as the appeals.status column stores them.
OPEN = sorted(s.value for s in OPEN_STATUSES)
# Resolved appeals still await the enterprise's rating: they are still theirs to follow.
FOLLOWED = sorted(s.value for s in OPEN_STATUSES | {Status.RESOLVED})
HANDLING = sorted(s.value for s in HANDLING_STATUSES)

UNVERIFIED_FLAG = "filer_unverified"  # bot.services.membership.UNVERIFIED_FLAG: the filer's claim is not verified


class ConcurrentUpdate(RuntimeError):
    """Someone else saved the appeal between our read and our write."""


def _upsert(conn: AsyncConnection, table: t.Table):  # type: ignore[no-untyped-def]
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


class SqlAppealRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def next_number(self, prefix: str, day: str) -> str:
        """Gap-free per day: the counter row is bumped in the caller's transaction, so a rollback
        gives the number back and concurrent filers queue on the row lock."""
        stmt = _upsert(self.conn, t.appeal_counters).values(day=day, last=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.appeal_counters.c.day], set_={"last": t.appeal_counters.c.last + 1}
        ).returning(t.appeal_counters.c.last)
        seq = (await self.conn.execute(stmt)).scalar_one()
        return f"{prefix}{day}-{seq:04d}"

    def _row(self, a: Appeal, now: datetime) -> dict[str, Any]:
        return {
            "number": a.number, "enterprise_id": a.enterprise_id, "enterprise_name": a.enterprise_name,
            "uscc": a.uscc, "contact": a.contact, "phone": a.phone, "area_id": a.area_id, "text": a.text,
            "source": a.source.value, "type": a.type.value, "category": a.category,
            "categories": list(a.categories), "tag_evidence": dict(a.tag_evidence), "level": a.level.value,
            "difficulty": a.difficulty.value, "status": a.status.value, "attachments": list(a.attachments),
            "submitted_at": a.submitted_at, "promised_at": a.promised_at, "due_at": a.due_at,
            "calendar_gap": a.calendar_gap, "lead_unit_id": a.lead_unit_id,
            "co_unit_ids": list(a.co_unit_ids), "handler_staff_id": a.handler_staff_id,
            "outcome": a.outcome, "resolution": a.resolution, "repeat_of": a.repeat_of,
            "flags": dict(a.flags), "filer_channel": a.filer_channel,
            "filer_external_id": a.filer_external_id, "updated_at": now,
            "status_since": a.status_since or a.submitted_at,
        }

    async def add(self, appeal: Appeal) -> Appeal:
        now = appeal.submitted_at
        row = self._row(appeal, now) | {"version": 1}
        appeal.id = (await self.conn.execute(insert(t.appeals).returning(t.appeals.c.id), row)).scalar_one()
        appeal.version = 1
        await self._flush_events(appeal)
        return appeal

    async def save(self, appeal: Appeal) -> None:
        now = appeal.pending_events[-1].at if appeal.pending_events else datetime.now(UTC)
        result = await self.conn.execute(
            update(t.appeals)
            .where(t.appeals.c.id == appeal.id, t.appeals.c.version == appeal.version)
            .values(**self._row(appeal, now), version=appeal.version + 1)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(appeal.number)
        appeal.version += 1
        await self._flush_events(appeal)

    async def _flush_events(self, appeal: Appeal) -> None:
        if not appeal.pending_events:
            return
        await self.conn.execute(insert(t.appeal_events), [
            {"appeal_id": appeal.id, "at": e.at, "actor_kind": e.actor.kind, "actor_id": e.actor.id,
             "actor_name": e.actor.name, "action": e.action.value,
             "from_status": e.from_status.value if e.from_status else None,
             "to_status": e.to_status.value, "note": e.note, "data": e.data}
            for e in appeal.pending_events
        ])
        await add_webhook_rows(self.conn, appeal, appeal.pending_events)
        appeal.pending_events.clear()

    @staticmethod
    def _appeal(r: Any) -> Appeal:
        return Appeal(
            id=r.id, number=r.number, enterprise_id=r.enterprise_id, enterprise_name=r.enterprise_name,
            uscc=r.uscc, contact=r.contact, phone=r.phone, area_id=r.area_id, text=r.text,
            source=Source(r.source), type=AppealType(r.type), categories=list(r.categories),
            tag_evidence=dict(r.tag_evidence), level=Level(r.level), difficulty=Difficulty(r.difficulty),
            status=Status(r.status), attachments=list(r.attachments),
            submitted_at=r.submitted_at, promised_at=r.promised_at,
            due_at=r.due_at, calendar_gap=r.calendar_gap, lead_unit_id=r.lead_unit_id,
            co_unit_ids=list(r.co_unit_ids), handler_staff_id=r.handler_staff_id, outcome=r.outcome,
            resolution=r.resolution, repeat_of=r.repeat_of, flags=dict(r.flags),
            filer_channel=r.filer_channel, filer_external_id=r.filer_external_id, version=r.version,
            status_since=r.status_since,
        )

    async def get(self, number: str) -> Appeal | None:
        row = (await self.conn.execute(select(t.appeals).where(t.appeals.c.number == number))).first()
        return self._appeal(row) if row else None

    async def get_many(self, numbers: Sequence[str]) -> dict[str, Appeal]:
        """Several appeals in one statement, by number (the missing ones left out)."""
        if not numbers:
            return {}
        rows = (await self.conn.execute(select(t.appeals).where(t.appeals.c.number.in_(list(numbers))))).all()
        return {r.number: self._appeal(r) for r in rows}

    async def list_for_person(self, key: ConversationKey, enterprise_ids: Sequence[int], *,
                              open_only: bool) -> list[Appeal]:
        """The appeals this person filed, and every appeal of the enterprises given (where they are verified)."""
        c = t.appeals.c
        mine = and_(c.filer_channel == key.channel, c.filer_external_id == key.user_id)
        stmt = select(t.appeals).where(or_(mine, c.enterprise_id.in_(list(enterprise_ids))) if enterprise_ids
                                       else mine)
        if open_only:
            stmt = stmt.where(c.status.in_(FOLLOWED))
        rows = (await self.conn.execute(stmt.order_by(c.id.desc()).limit(50))).all()
        return [self._appeal(r) for r in rows]

    async def mark_filer_verified(self, key: ConversationKey, enterprise_id: int) -> int:
        """Drop the 未核验身份 flag from this person's appeals of the enterprise; returns how many."""
        c = t.appeals.c
        rows = (await self.conn.execute(select(c.id, c.flags).where(
            c.filer_channel == key.channel, c.filer_external_id == key.user_id,
            c.enterprise_id == enterprise_id))).all()
        changed = [(r.id, {k: v for k, v in dict(r.flags).items() if k != UNVERIFIED_FLAG})
                   for r in rows if UNVERIFIED_FLAG in dict(r.flags)]
        for appeal_id, flags in changed:
            await self.conn.execute(update(t.appeals).where(c.id == appeal_id)
                                    .values(flags=flags, version=c.version + 1))
        return len(changed)

    async def events(self, number: str) -> list[AppealEvent]:
        stmt = (
            select(t.appeal_events).join(t.appeals, t.appeals.c.id == t.appeal_events.c.appeal_id)
            .where(t.appeals.c.number == number).order_by(t.appeal_events.c.id)
        )
        return [
            AppealEvent(
                Action(r.action), r.at, Actor(r.actor_kind, r.actor_id, r.actor_name),
                Status(r.from_status) if r.from_status else None, Status(r.to_status), r.note, dict(r.data),
            )
            for r in (await self.conn.execute(stmt)).all()
        ]

    async def with_open_escalation_requests(self) -> list[Appeal]:
        """Appeals being handled that ever had a 提级 request (the caller checks the request is still pending)."""
        asked = (select(t.appeal_events.c.id).where(t.appeal_events.c.appeal_id == t.appeals.c.id,
                                                     t.appeal_events.c.action == Action.ESCALATE_REQUEST.value)
                 .exists())
        stmt = (select(t.appeals).where(t.appeals.c.status.in_(HANDLING),
                                        asked).order_by(t.appeals.c.id).limit(200))
        return [self._appeal(r) for r in (await self.conn.execute(stmt)).all()]

    async def count(self) -> int:
        return (await self.conn.execute(select(func.count()).select_from(t.appeals))).scalar_one()


class SqlEnterpriseRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @staticmethod
    def _enterprise(r: Any) -> Enterprise:
        return Enterprise(r.id, r.uscc, r.name, r.contact, r.phone, r.area_id)

    async def get(self, enterprise_id: int) -> Enterprise | None:
        row = (await self.conn.execute(select(t.enterprises).where(t.enterprises.c.id == enterprise_id))).first()
        return self._enterprise(row) if row else None

    async def get_by_uscc(self, uscc: str) -> Enterprise | None:
        row = (await self.conn.execute(select(t.enterprises).where(t.enterprises.c.uscc == uscc))).first()
        return self._enterprise(row) if row else None

    async def upsert(self, e: Enterprise) -> Enterprise:
        now = datetime.now(UTC)
        values = {"name": e.name, "contact": e.contact, "phone": e.phone, "area_id": e.area_id, "updated_at": now}
        stmt = _upsert(self.conn, t.enterprises).values(uscc=e.uscc, created_at=now, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[t.enterprises.c.uscc], set_=values)
        await self.conn.execute(stmt)
        stored = await self.get_by_uscc(e.uscc)
        assert stored is not None
        return stored


    async def create_if_missing(self, e: Enterprise) -> Enterprise:
        """The stored enterprise with this code; created from `e` only if there is none (never overwritten)."""
        now = datetime.now(UTC)
        stmt = _upsert(self.conn, t.enterprises).values(
            uscc=e.uscc, name=e.name, contact=e.contact, phone=e.phone, area_id=e.area_id, created_at=now,
            updated_at=now).on_conflict_do_nothing(index_elements=[t.enterprises.c.uscc])
        await self.conn.execute(stmt)
        stored = await self.get_by_uscc(e.uscc)
        assert stored is not None
        return stored

    async def rename(self, enterprise_id: int, name: str) -> None:
        await self.conn.execute(update(t.enterprises).where(t.enterprises.c.id == enterprise_id)
                                .values(name=name, updated_at=datetime.now(UTC)))

    # ---- claims to speak for an enterprise (issue 14) ----

    @staticmethod
    def _member(r: Any) -> Membership:
        return Membership(r.enterprise_id, ConversationKey(r.channel, r.external_id), r.status, r.claimed_at,
                          r.contact, r.phone, r.method, r.prompted_at, r.decided_at, r.decided_by, r.reason, r.id)

    async def membership(self, enterprise_id: int, key: ConversationKey) -> Membership | None:
        c = t.enterprise_members.c
        row = (await self.conn.execute(select(t.enterprise_members).where(
            c.enterprise_id == enterprise_id, c.channel == key.channel, c.external_id == key.user_id))).first()
        return self._member(row) if row else None

    async def membership_by_id(self, member_id: int) -> Membership | None:
        c = t.enterprise_members.c
        row = (await self.conn.execute(select(t.enterprise_members).where(c.id == member_id))).first()
        return self._member(row) if row else None

    async def memberships(self, key: ConversationKey) -> list[Membership]:
        c = t.enterprise_members.c
        rows = (await self.conn.execute(select(t.enterprise_members).where(
            c.channel == key.channel, c.external_id == key.user_id).order_by(c.id))).all()
        return [self._member(r) for r in rows]

    @staticmethod
    def _member_row(m: Membership) -> dict[str, Any]:
        return {"enterprise_id": m.enterprise_id, "channel": m.key.channel, "external_id": m.key.user_id,
                "status": m.status, "contact": m.contact, "phone": m.phone, "method": m.method,
                "claimed_at": m.claimed_at, "prompted_at": m.prompted_at, "decided_at": m.decided_at,
                "decided_by": m.decided_by, "reason": m.reason}

    async def add_membership(self, member: Membership) -> Membership:
        """Store a new claim; of two requests racing to claim for one person, the first one's stands."""
        stmt = _upsert(self.conn, t.enterprise_members).values(self._member_row(member)).on_conflict_do_nothing(
            index_elements=[t.enterprise_members.c.enterprise_id, t.enterprise_members.c.channel,
                            t.enterprise_members.c.external_id])
        await self.conn.execute(stmt)
        stored = await self.membership(member.enterprise_id, member.key)
        assert stored is not None
        return stored

    async def save_membership(self, member: Membership) -> None:
        await self.conn.execute(update(t.enterprise_members).where(t.enterprise_members.c.id == member.id)
                                .values(self._member_row(member)))

    async def pending_claims(self, enterprise_ids: Sequence[int] | None, limit: int) -> list[Membership]:
        """Unverified claims, oldest first; of the given enterprises only, unless None (all)."""
        c = t.enterprise_members.c
        stmt = select(t.enterprise_members).where(c.status == "unverified")
        if enterprise_ids is not None:
            stmt = stmt.where(c.enterprise_id.in_(list(enterprise_ids)))
        rows = (await self.conn.execute(stmt.order_by(c.id).limit(limit))).all()
        return [self._member(r) for r in rows]

    async def verified_keys(self, enterprise_id: int) -> list[ConversationKey]:
        c = t.enterprise_members.c
        rows = (await self.conn.execute(select(c.channel, c.external_id).where(
            c.enterprise_id == enterprise_id, c.status == "verified").order_by(c.id))).all()
        return [ConversationKey(r.channel, r.external_id) for r in rows]


def _staff(r: Row) -> Staff:
    """A staff table row as the domain's Staff."""
    return Staff(r.id, r.name, r.unit_id, r.role, r.mobile)


class SqlDirectoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def units(self) -> list[OrgUnit]:
        rows = (await self.conn.execute(
            select(t.org_units).where(t.org_units.c.active.is_(True)).order_by(t.org_units.c.kind, t.org_units.c.id)
        )).all()
        return [OrgUnit(r.id, r.name, r.kind, tuple(r.aliases)) for r in rows]

    async def staff(self, staff_id: str) -> Staff | None:
        stmt = select(t.staff).where(t.staff.c.id == staff_id, t.staff.c.active.is_(True))
        r = (await self.conn.execute(stmt)).first()
        return _staff(r) if r else None

    async def active_staff(self) -> list[Staff]:
        rows = (await self.conn.execute(select(t.staff).where(t.staff.c.active.is_(True)))).all()
        return [_staff(r) for r in rows]

    async def identity(self, key: ConversationKey) -> Identity:
        c = t.identities.c
        stmt = select(t.identities).where(c.channel == key.channel, c.external_id == key.user_id)
        r = (await self.conn.execute(stmt)).first()
        if r is None:
            return Identity(key)
        staff_member = await self.staff(r.staff_id) if r.staff_id else None
        return Identity(key, staff_member, r.enterprise_id)

    async def _link(self, key: ConversationKey, **values: Any) -> None:
        stmt = _upsert(self.conn, t.identities).values(
            channel=key.channel, external_id=key.user_id, created_at=datetime.now(UTC), **values)
        await self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[t.identities.c.channel, t.identities.c.external_id], set_=values))

    async def link_enterprise(self, key: ConversationKey, enterprise_id: int) -> None:
        await self._link(key, enterprise_id=enterprise_id)

    async def link_staff(self, key: ConversationKey, staff_id: str) -> None:
        await self._link(key, staff_id=staff_id)

    async def replace_org(self, units: Sequence[OrgUnit], staff: Sequence[Staff]) -> None:
        """Make the configured org the active one; units and staff no longer listed are deactivated
        (never deleted: appeals and events still refer to them)."""
        for unit in units:
            values = {"name": unit.name, "kind": unit.kind, "aliases": list(unit.aliases), "active": True}
            stmt = _upsert(self.conn, t.org_units).values(id=unit.id, **values)
            await self.conn.execute(stmt.on_conflict_do_update(index_elements=[t.org_units.c.id], set_=values))
        await self.conn.execute(update(t.org_units).where(t.org_units.c.id.not_in([u.id for u in units]))
                                .values(active=False))
        for member in staff:
            values = {"name": member.name, "unit_id": member.unit_id, "role": member.role,
                      "mobile": member.mobile, "active": True}
            stmt = _upsert(self.conn, t.staff).values(id=member.id, **values)
            await self.conn.execute(stmt.on_conflict_do_update(index_elements=[t.staff.c.id], set_=values))
        await self.conn.execute(update(t.staff).where(t.staff.c.id.not_in([s.id for s in staff]))
                                .values(active=False))

    async def keys_for_role(self, role: str) -> list[ConversationKey]:
        """Every chat identity bound to an active staff member of this role."""
        stmt = (
            select(t.identities.c.channel, t.identities.c.external_id)
            .join(t.staff, t.staff.c.id == t.identities.c.staff_id)
            .where(t.staff.c.role == role, t.staff.c.active.is_(True))
            .order_by(t.identities.c.channel, t.identities.c.external_id)
        )
        return [ConversationKey(r.channel, r.external_id) for r in (await self.conn.execute(stmt)).all()]

    async def keys_for_staff(self, staff_ids: Sequence[str]) -> list[ConversationKey]:
        """Every chat identity bound to these staff members (active ones only)."""
        if not staff_ids:
            return []
        stmt = (
            select(t.identities.c.channel, t.identities.c.external_id)
            .join(t.staff, t.staff.c.id == t.identities.c.staff_id)
            .where(t.staff.c.id.in_(list(staff_ids)), t.staff.c.active.is_(True))
            .order_by(t.identities.c.channel, t.identities.c.external_id)
        )
        return [ConversationKey(r.channel, r.external_id) for r in (await self.conn.execute(stmt)).all()]

    async def staff_with_keys(self, unit_id: str, role: str) -> list[tuple[Staff, list[ConversationKey]]]:
        """The active staff of one role in a unit, each with every chat identity linked to them."""
        c = t.staff.c
        rows = (await self.conn.execute(
            select(t.staff).where(c.unit_id == unit_id, c.role == role, c.active.is_(True)).order_by(c.id))).all()
        keys: dict[str, list[ConversationKey]] = {r.id: [] for r in rows}
        if keys:
            i = t.identities.c
            linked = await self.conn.execute(select(i.staff_id, i.channel, i.external_id)
                                              .where(i.staff_id.in_(list(keys)))
                                              .order_by(i.channel, i.external_id))
            for r in linked.all():
                keys[r.staff_id].append(ConversationKey(r.channel, r.external_id))
        return [(_staff(r), keys[r.id]) for r in rows]

    async def unlinked_staff(self, channel: str) -> list[Staff]:
        """Active staff with a mobile and no chat identity on this channel, by id."""
        i = t.identities.c
        linked = select(i.staff_id).where(i.channel == channel, i.staff_id.is_not(None))
        c = t.staff.c
        rows = (await self.conn.execute(select(t.staff).where(
            c.active.is_(True), c.mobile != "", c.id.not_in(linked)).order_by(c.id))).all()
        return [_staff(r) for r in rows]

    async def lookup(self, staff_id: str, channel: str) -> StaffLookup | None:
        c = t.staff_lookups.c
        r = (await self.conn.execute(select(t.staff_lookups).where(c.staff_id == staff_id,
                                                                   c.channel == channel))).first()
        if r is None:
            return None
        return StaffLookup(r.staff_id, r.channel, r.status, r.tried_at, r.user_id, r.attempts, r.next_at,
                           r.detail or "")

    async def save_lookup(self, lookup: StaffLookup) -> None:
        values = {"status": lookup.status, "user_id": lookup.user_id, "attempts": lookup.attempts,
                  "tried_at": lookup.tried_at, "next_at": lookup.next_at, "detail": lookup.detail[:2000]}
        stmt = _upsert(self.conn, t.staff_lookups).values(staff_id=lookup.staff_id, channel=lookup.channel, **values)
        await self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[t.staff_lookups.c.staff_id, t.staff_lookups.c.channel], set_=values))


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, messages: Sequence[OutboundMessage], now: datetime) -> list[int]:
        """Store messages to send. Rows for a mailbox channel (the web chat, whose page reads the
        outbox itself) are delivered by being stored, so no sender ever has to touch them."""
        rows = outbox_rows(messages, now)
        # One statement per row keeps RETURNING portable (SQLite cannot return ids for executemany).
        stmt = insert(t.outbox).returning(t.outbox.c.id)
        return [(await self.conn.execute(stmt, row)).scalar_one() for row in rows]

    @staticmethod
    def _row(r: Any) -> OutboxRow:
        return OutboxRow(r.id, r.channel, r.recipient, dict(r.body), r.appeal_number, r.status, r.attempts,
                         r.next_attempt_at, r.created_at, r.sent_at, r.last_error)

    async def pending(self, channels: Sequence[str], limit: int) -> list[OutboxRow]:
        c = t.outbox.c
        stmt = (select(t.outbox).where(c.status == "pending", c.channel.in_(list(channels)))
                .order_by(c.id).limit(limit))
        return [self._row(r) for r in (await self.conn.execute(stmt)).all()]

    async def claim_many(self, ids: Sequence[int], now: datetime, lease_until: datetime) -> list[int]:
        """Take due rows for sending until `lease_until`, in one statement; returns the ids taken (not
        those another sender has)."""
        c = t.outbox.c
        result = await self.conn.execute(
            update(t.outbox).where(c.id.in_(list(ids)), c.status == "pending", c.next_attempt_at <= now)
            .values(next_attempt_at=lease_until).returning(c.id))
        return [r[0] for r in result.all()]

    async def mark_sent_many(self, ids: Sequence[int], now: datetime) -> None:
        await self.conn.execute(update(t.outbox).where(t.outbox.c.id.in_(list(ids)))
                                .values(status="sent", sent_at=now, attempts=t.outbox.c.attempts + 1))

    async def release_many(self, ids: Sequence[int], now: datetime) -> None:
        """Give claimed rows back, due now (they were not tried in this pass)."""
        c = t.outbox.c
        await self.conn.execute(update(t.outbox).where(c.id.in_(list(ids)), c.status == "pending")
                                .values(next_attempt_at=now))

    async def mark_failed(self, outbox_id: int, *, attempts: int, next_attempt_at: datetime,
                          error: str, dead: bool) -> None:
        await self.conn.execute(update(t.outbox).where(t.outbox.c.id == outbox_id).values(
            status="dead" if dead else "pending", attempts=attempts, next_attempt_at=next_attempt_at,
            last_error=error[:2000]))

    async def for_recipient(self, channel: str, recipient: str, after_id: int, limit: int) -> list[OutboxRow]:
        c = t.outbox.c
        stmt = (select(t.outbox).where(c.channel == channel, c.recipient == recipient, c.id > after_id)
                .order_by(c.id).limit(limit))
        return [self._row(r) for r in (await self.conn.execute(stmt)).all()]

    async def get(self, outbox_id: int) -> OutboxRow | None:
        r = (await self.conn.execute(select(t.outbox).where(t.outbox.c.id == outbox_id))).first()
        return self._row(r) if r else None

    async def recent(self, status: str | None, limit: int) -> list[OutboxRow]:
        stmt = select(t.outbox).order_by(t.outbox.c.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(t.outbox.c.status == status)
        return [self._row(r) for r in (await self.conn.execute(stmt)).all()]

    async def requeue(self, outbox_id: int, now: datetime) -> bool:
        c = t.outbox.c
        result = await self.conn.execute(
            update(t.outbox).where(c.id == outbox_id, c.status.in_(["dead", "pending"]))
            .values(status="pending", attempts=0, next_attempt_at=now))
        return result.rowcount == 1

    async def release_held(self, staff_id: str, to: ConversationKey, now: datetime, *, delivered: bool) -> int:
        """Send the notices held for a staff member (HELD_CHANNEL) to the identity now linked to them: each
        is stored again, in its original order, as a new row due now (new ids, so a mailbox page that has
        read past the old ones still shows them; a mailbox channel's are delivered by this), and the held
        row goes."""
        c = t.outbox.c
        held = (await self.conn.execute(select(t.outbox).where(
            c.channel == HELD_CHANNEL, c.recipient == staff_id, c.status == "pending").order_by(c.id))).all()
        for r in held:
            await self.conn.execute(insert(t.outbox).values(
                channel=to.channel, recipient=to.user_id, body=r.body, appeal_number=r.appeal_number,
                status="sent" if delivered else "pending", attempts=0, next_attempt_at=now, created_at=r.created_at,
                sent_at=now if delivered else None))
        if held:
            await self.conn.execute(t.outbox.delete().where(c.id.in_([r.id for r in held])))
        return len(held)


class SqlBindCodes:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, code_hash: str, staff_id: str, expires_at: datetime) -> None:
        await self.conn.execute(insert(t.bind_codes).values(code_hash=code_hash, staff_id=staff_id,
                                                            expires_at=expires_at))

    async def revoke_live(self, staff_id: str, now: datetime) -> int:
        """Every unused, unexpired code of this member expires now: a new code replaces them."""
        c = t.bind_codes.c
        stmt = (update(t.bind_codes).where(c.staff_id == staff_id, c.used_at.is_(None), c.expires_at > now)
                .values(expires_at=now))
        return (await self.conn.execute(stmt)).rowcount

    async def redeem(self, code_hash: str, now: datetime) -> str | None:
        """Atomically use a valid code: of two people racing with one code, exactly one gets it."""
        c = t.bind_codes.c
        stmt = (update(t.bind_codes).where(c.code_hash == code_hash, c.used_at.is_(None), c.expires_at > now)
                .values(used_at=now).returning(c.staff_id))
        return (await self.conn.execute(stmt)).scalar_one_or_none()


class SqlCallbackSignatures:
    """The (timestamp, sign) pairs of signed callbacks seen within the clock-skew window."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def message_of(self, channel: str, timestamp: str, sign: str) -> str | None:
        """The msgId a pair was first seen with (the pair itself is stored by the turn: TurnStore)."""
        c = t.callback_signatures.c
        return (await self.conn.execute(select(c.message_id).where(
            c.channel == channel, c.timestamp == timestamp, c.sign == sign))).scalar_one_or_none()

    async def prune(self, now: datetime) -> int:
        """Pairs past their window: the timestamp check refuses them anyway."""
        c = t.callback_signatures.c
        return (await self.conn.execute(t.callback_signatures.delete().where(c.keep_until < now))).rowcount


class SqlInboundLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claim(self, channel: str, message_id: str, now: datetime) -> bool:
        """True exactly once per (channel, message id); the claim commits with the turn's effects."""
        stmt = _upsert(self.conn, t.inbound_messages).values(
            channel=channel, message_id=message_id[:191], received_at=now).on_conflict_do_nothing()
        return (await self.conn.execute(stmt)).rowcount == 1


class SqlTagCorrections:
    """Dispatchers' tag changes, and the pool's confirmed tags, as learning data."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, correction: TagCorrection) -> int:
        stmt = insert(t.tag_corrections).returning(t.tag_corrections.c.id)
        return (await self.conn.execute(stmt, {
            "appeal_number": correction.appeal_number, "text": correction.text,
            "old_category": correction.old_category, "new_category": correction.new_category,
            "by_staff_id": correction.by_staff_id, "at": correction.at,
        })).scalar_one()

    async def list(self, limit: int = 10_000) -> list[TagCorrection]:
        rows = (await self.conn.execute(
            select(t.tag_corrections).order_by(t.tag_corrections.c.id).limit(limit))).all()
        return [TagCorrection(r.appeal_number, r.text, r.old_category, r.new_category, r.by_staff_id, r.at)
                for r in rows]

    async def confirmed_tags(self, limit: int = 100_000) -> list[tuple[str, str, str]]:
        """(number, text, category) of appeals a dispatcher has handled: past 待受理, not rejected/withdrawn."""
        unconfirmed = [Status.SUBMITTED.value, Status.REJECTED.value, Status.WITHDRAWN.value]
        stmt = (select(t.appeals.c.number, t.appeals.c.text, t.appeals.c.category)
                .where(t.appeals.c.status.not_in(unconfirmed)).order_by(t.appeals.c.id).limit(limit))
        return [(r.number, r.text, r.category) for r in (await self.conn.execute(stmt)).all()]

    async def closed_tags(self, limit: int = 100_000) -> list[tuple[str, str, str]]:
        """(number, text, category) of closed appeals (已闭环), oldest first: their final categories."""
        stmt = (select(t.appeals.c.number, t.appeals.c.text, t.appeals.c.category)
                .where(t.appeals.c.status == Status.CLOSED.value).order_by(t.appeals.c.id).limit(limit))
        return [(r.number, r.text, r.category) for r in (await self.conn.execute(stmt)).all()]

    async def open_appeals(self, limit: int = 2000) -> list[Appeal]:
        """Appeals still being worked on (待受理 to 整改中), newest first: input to similar-problem grouping."""
        states = OPEN
        if self.conn.dialect.name == "sqlite":
            # After an ANALYZE SQLite believes a third of all appeals share each status (it keeps
            # averages, not histograms) and scans every appeal ever stored: 240 ms at 1M. The open
            # ones are few; their status index finds them.
            stmt: Any = text(
                "SELECT * FROM appeals INDEXED BY ix_appeals_status_submitted WHERE status IN :states "
                "ORDER BY id DESC LIMIT :limit").bindparams(bindparam("states", expanding=True)).columns(
                *t.appeals.c)
            rows = (await self.conn.execute(stmt, {"states": states, "limit": limit})).all()
        else:
            stmt = select(t.appeals).where(t.appeals.c.status.in_(states)).order_by(t.appeals.c.id.desc()).limit(limit)
            rows = (await self.conn.execute(stmt)).all()
        return [SqlAppealRepository._appeal(r) for r in rows]
