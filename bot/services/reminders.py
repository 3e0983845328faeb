"""Reminder sweeps: dispatch, sign-off, near-due, overdue (daily, then the leader), rating reminder and expiry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.appeal import HANDLING_STATUSES, Action, Actor, Appeal, Status
from bot.messages import Choice, ConversationKey
from bot.services import directory
from bot.services.evaluation import grassroots_rater
from bot.services.ports import UnitOfWork
from bot.services.scheduling import SweepContext, SweepRegistry

HANDLING = tuple(sorted(s.value for s in HANDLING_STATUSES))  # as the sweeps' queries take them
NOT_RATED = "未评价"  # the stored rating of an appeal whose rating window ended (GB/T 39734 未评价)


def slot_of(at: datetime) -> str:
    """A clock value as a ledger slot: ISO UTC, so a moved deadline is a new occurrence."""
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _enterprise(a: Appeal) -> list[ConversationKey]:
    key = directory.enterprise_key(a)
    return [key] if key else []


class Recipients:
    """Chat identities of a unit's handlers or of a role, looked up once per sweep."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], list[ConversationKey]] = {}

    async def unit(self, uow: UnitOfWork, unit_id: str | None) -> list[ConversationKey]:
        if ("unit", unit_id or "") not in self._cache:
            self._cache[("unit", unit_id or "")] = await uow.handling.keys_for_unit(unit_id) if unit_id else []
        return self._cache[("unit", unit_id or "")]

    async def role(self, uow: UnitOfWork, role: str) -> list[ConversationKey]:
        if ("role", role) not in self._cache:
            self._cache[("role", role)] = await uow.directory.keys_for_role(role)
        return self._cache[("role", role)]


async def in_batches(ctx: SweepContext, fetch: Callable[[UnitOfWork, int], Awaitable[list[Any]]],
                     handle: Callable[[UnitOfWork, Any, dict[str, str]], Awaitable[int]],
                     key: Callable[[Any], int]) -> int:
    """Fetch due rows batch by batch (keyset on `key`), one transaction per batch: the claims and
    the outbox rows of a batch commit together, so a crash mid-sweep leaves the rest for next time."""
    sent, after_id = 0, 0
    while True:
        async with ctx.rt.uow() as uow:
            rows = await fetch(uow, after_id)
            names = await directory.unit_names(uow) if rows else {}
            for row in rows:
                sent += await handle(uow, row, names)
            await uow.commit()
        if len(rows) < ctx.schedule.batch_size:
            return sent
        after_id = key(rows[-1])


async def notify_once(ctx: SweepContext, uow: UnitOfWork, kind: str, a: Appeal, slot: str, now: datetime,
                      ref_at: datetime | None, keys: list[ConversationKey], text: str,
                      choices: list[Choice] | None = None, *, ref: str | None = None) -> int:
    """Claim this occurrence (kind, ref — the appeal's number unless given —, slot) and store its
    messages in the same transaction; 0 when an earlier pass or another scheduler claimed it."""
    if not await uow.sweeps.claim(kind, ref or a.number, slot, now, ref_at=ref_at, appeal_id=a.id,
                                  recipients=len(keys)):
        return 0
    return await ctx.send(uow, keys, text, a.number, choices)


async def dispatch_overdue(ctx: SweepContext) -> int:
    """待受理 longer than the dispatch limit (working days from entering the pool) → dispatchers, once
    per pool entry (a returned appeal starts a new one)."""
    now = ctx.now()
    rcpt = Recipients()
    if ctx.held(now):
        return 0
    days = ctx.rt.policy.time_limits.dispatch

    async def fetch(uow: UnitOfWork, after_id: int) -> list[Appeal]:
        # n working days are at least n calendar days: a cheap bound, then the exact check below.
        return await uow.sweeps.appeals_due("dispatch", [Status.SUBMITTED.value], "status_since",
                                            before=now - timedelta(days=days), after_id=after_id,
                                            limit=ctx.schedule.batch_size)

    async def handle(uow: UnitOfWork, a: Appeal, names: dict[str, str]) -> int:
        since = a.status_since or a.submitted_at
        deadline = ctx.rt.calendar.add_workdays(since, days).at
        if now <= deadline:
            return 0
        text = ctx.render.text("dispatch_overdue", number=a.number, company=a.enterprise_name,
                               category=a.category, since=since, due=deadline)
        return await notify_once(ctx, uow, "dispatch", a, slot_of(since), now, since,
                                 await rcpt.role(uow, "dispatcher"), text)

    return await in_batches(ctx, fetch, handle, lambda a: a.id)


async def signoff_overdue(ctx: SweepContext) -> int:
    """A holder spell not signed off (签收) by its sign-off deadline → that unit's handlers and the
    dispatchers, once per spell."""
    now = ctx.now()
    rcpt = Recipients()
    if ctx.held(now):
        return 0

    async def fetch(uow: UnitOfWork, after_id: int) -> list[Any]:
        return await uow.sweeps.unsigned_spells("signoff", now, after_id=after_id, limit=ctx.schedule.batch_size)

    async def handle(uow: UnitOfWork, row: Any, names: dict[str, str]) -> int:
        a, spell = row
        keys = await rcpt.unit(uow, spell.unit_id) + await rcpt.role(uow, "dispatcher")
        text = ctx.render.text("signoff_overdue", number=a.number, unit=names.get(spell.unit_id, spell.unit_id),
                               role=spell.role, signoff=spell.signoff_due_at, due=spell.due_at)
        return await notify_once(ctx, uow, "signoff", a, "once", now, spell.signoff_due_at, keys, text,
                                 ref=str(spell.id))

    return await in_batches(ctx, fetch, handle, lambda row: 0)  # claimed spells drop out of the query


async def near_due(ctx: SweepContext) -> int:
    """Due within the configured working days → the lead unit's handlers, once per deadline."""
    now = ctx.now()
    rcpt = Recipients()
    if ctx.held(now):
        return 0
    horizon = ctx.rt.calendar.add_workdays(now, ctx.schedule.near_due_workdays).at

    async def fetch(uow: UnitOfWork, after_id: int) -> list[Appeal]:
        return await uow.sweeps.appeals_due("near_due", HANDLING, "due_at", before=horizon + timedelta(seconds=1),
                                            after=now, after_id=after_id, limit=ctx.schedule.batch_size)

    async def handle(uow: UnitOfWork, a: Appeal, names: dict[str, str]) -> int:
        assert a.due_at is not None
        text = ctx.render.text("near_due", number=a.number, company=a.enterprise_name, due=a.due_at,
                               unit=names.get(a.lead_unit_id or "", ""), accepted=a.status == Status.IN_PROGRESS,
                               gap=a.calendar_gap)
        return await notify_once(ctx, uow, "near_due", a, slot_of(a.due_at), now, a.due_at,
                                 await rcpt.unit(uow, a.lead_unit_id), text)

    return await in_batches(ctx, fetch, handle, lambda a: a.id)


async def overdue_daily(ctx: SweepContext) -> int:
    """Past its deadline and still being handled → the lead unit's handlers and the dispatchers,
    once each working day."""
    now = ctx.now()
    rcpt = Recipients()
    if ctx.held(now):
        return 0
    today = ctx.today(now)

    async def fetch(uow: UnitOfWork, after_id: int) -> list[Appeal]:
        return await uow.sweeps.appeals_due("overdue", HANDLING, "due_at", before=now, slot=today,
                                            after_id=after_id, limit=ctx.schedule.batch_size)

    async def handle(uow: UnitOfWork, a: Appeal, names: dict[str, str]) -> int:
        assert a.due_at is not None
        keys = await rcpt.unit(uow, a.lead_unit_id) + await rcpt.role(uow, "dispatcher")
        days = max(1, ctx.rt.calendar.workdays_between(a.due_at, now))
        text = ctx.render.text("overdue", number=a.number, company=a.enterprise_name, due=a.due_at, days=days,
                               unit=names.get(a.lead_unit_id or "", ""), accepted=a.status == Status.IN_PROGRESS)
        return await notify_once(ctx, uow, "overdue", a, today, now, a.due_at, keys, text)

    return await in_batches(ctx, fetch, handle, lambda a: a.id)


async def overdue_leader(ctx: SweepContext) -> int:
    """Overdue by the configured working days → the leaders, once per deadline."""
    now = ctx.now()
    rcpt = Recipients()
    if ctx.held(now):
        return 0
    limit_days = ctx.schedule.overdue_leader_workdays

    async def fetch(uow: UnitOfWork, after_id: int) -> list[Appeal]:
        return await uow.sweeps.appeals_due("overdue_leader", HANDLING, "due_at",
                                            before=now - timedelta(days=limit_days), after_id=after_id,
                                            limit=ctx.schedule.batch_size)

    async def handle(uow: UnitOfWork, a: Appeal, names: dict[str, str]) -> int:
        assert a.due_at is not None
        days = ctx.rt.calendar.workdays_between(a.due_at, now)
        if days < limit_days:
            return 0
        text = ctx.render.text("overdue_leader", number=a.number, company=a.enterprise_name, due=a.due_at,
                               days=days, unit=names.get(a.lead_unit_id or "", ""), category=a.category)
        return await notify_once(ctx, uow, "overdue_leader", a, slot_of(a.due_at), now, a.due_at,
                                 await rcpt.role(uow, "leader"), text)

    return await in_batches(ctx, fetch, handle, lambda a: a.id)


async def rating_reminder(ctx: SweepContext) -> int:
    """Still not rated a day after resolution → remind the enterprise once (quiet hours hold it)."""
    now = ctx.now()
    if ctx.held(now, staff=False):
        return 0
    s = ctx.schedule

    async def fetch(uow: UnitOfWork, after_id: int) -> list[Appeal]:
        return await uow.sweeps.appeals_due(
            "rating_reminder", [Status.RESOLVED.value], "status_since",
            before=now - timedelta(days=s.rating_reminder_days), after=now - timedelta(days=s.rating_window_days),
            after_id=after_id, limit=s.batch_size)

    async def handle(uow: UnitOfWork, a: Appeal, names: dict[str, str]) -> int:
        since = a.status_since or now
        text = ctx.render.text("rating_reminder", number=a.number, until=since + timedelta(days=s.rating_window_days))
        return await notify_once(ctx, uow, "rating_reminder", a, slot_of(since), now, since, _enterprise(a), text,
                                 ctx.render.rating_choices(a.number))

    return await in_batches(ctx, fetch, handle, lambda a: a.id)


async def rating_expiry(ctx: SweepContext) -> int:
    """The rating window ended without a rating → 已闭环 with the rating recorded as 未评价.

    The claim is the transition itself: the appeal row is locked (PostgreSQL) or the database is
    (SQLite), and a second scheduler no longer finds it 已办结."""
    now = ctx.now()
    window = timedelta(days=ctx.schedule.rating_window_days)

    async def fetch(uow: UnitOfWork, after_id: int) -> list[Appeal]:
        return await uow.sweeps.appeals_due("rating_expired", [Status.RESOLVED.value], "status_since",
                                            before=now - window + timedelta(seconds=1), after_id=after_id,
                                            limit=ctx.schedule.batch_size)

    async def handle(uow: UnitOfWork, a: Appeal, names: dict[str, str]) -> int:
        since = a.status_since or now
        a.apply(Action.RATING_EXPIRED, actor=Actor.system(), now=now, note=NOT_RATED, rating=NOT_RATED,
                resolved_at=since.isoformat())
        a.flags = {**a.flags, "rating": NOT_RATED}
        await uow.appeals.save(a)
        keys = _enterprise(a)
        await uow.sweeps.claim("rating_expired", a.number, slot_of(since), now, ref_at=since, appeal_id=a.id,
                               recipients=len(keys))
        sent = await ctx.send(uow, keys, ctx.render.text("rating_expired", number=a.number), a.number)
        # Closed now: the unit that escalated it (or the enterprise's township) rates the higher level.
        pair = await grassroots_rater(uow, a)
        if pair is not None:
            invite = ctx.render.text("grassroots_invite", number=a.number, company=a.enterprise_name,
                                     rated=names.get(pair[1], pair[1]))
            sent += await ctx.send(uow, list(await uow.handling.keys_for_unit(pair[0])), invite, a.number)
        return sent

    return await in_batches(ctx, fetch, handle, lambda a: a.id)


def register(reg: SweepRegistry) -> None:
    reg.add("dispatch_overdue", dispatch_overdue)
    reg.add("signoff_overdue", signoff_overdue)
    reg.add("near_due", near_due)
    reg.add("overdue_daily", overdue_daily)
    reg.add("overdue_leader", overdue_leader)
    reg.add("rating_reminder", rating_reminder)
    reg.add("rating_expiry", rating_expiry)
