"""Digests: the leader's daily digest, each unit's to-do digest, the dispatchers' pool digest, and 日报."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.domain.appeal import Action, Appeal, Status
from bot.services import directory
from bot.services.access import require_role
from bot.services.improvement import DigestLines, digest_lines
from bot.services.ports import ExtensionRequest, Holding, Identity, UnitOfWork
from bot.services.reminders import HANDLING
from bot.services.scheduling import SweepContext, SweepRegistry

LIST_MAX = 5  # items listed per section: the digest must stay readable on a phone
UNITS_MAX = 8
BAD_REVIEW = (Status.VERIFYING.value, Status.RECTIFYING.value)


@dataclass
class DigestItem:
    number: str
    unit_id: str
    due_at: datetime | None
    days: int  # working days overdue, or left


@dataclass
class UnitLine:
    unit_id: str
    open: int = 0
    overdue: int = 0
    resolved: int = 0


@dataclass
class LeaderDigest:
    day: date
    since: datetime
    until: datetime
    new: int = 0
    resolved: int = 0
    closed: int = 0
    not_rated: int = 0
    escalated: int = 0
    overdue_count: int = 0
    overdue: list[DigestItem] = field(default_factory=list)
    leader_alerts: int = 0  # overdue by the leader threshold or more
    near_due_count: int = 0
    near_due: list[DigestItem] = field(default_factory=list)
    bad_reviews: int = 0
    units: list[UnitLine] = field(default_factory=list)
    unit_names: dict[str, str] = field(default_factory=dict)
    leader_threshold: int = 2
    near_horizon: int = 1
    calendar_missing: list[int] = field(default_factory=list)  # years without holiday data (an alarm line)
    improvement: DigestLines | None = None  # 为企办实事 / 改革 / 跟进: changes since the last digest, overdue


@dataclass
class TodoDigest:
    unit_id: str
    unit_name: str
    items: list[tuple[Appeal, Holding]]
    now: datetime


@dataclass
class PoolDigest:
    pool_count: int
    oldest: list[Appeal]
    overdue_dispatch: int
    extensions: list[tuple[str, ExtensionRequest]]
    now: datetime
    calendar_missing: list[int] = field(default_factory=list)


async def leader_digest(uow: UnitOfWork, ctx: SweepContext, since: datetime, until: datetime,
                        now: datetime) -> LeaderDigest:
    """Figures for [since, until) and the state at `now`: exceptions (overdue, near due, bad reviews,
    escalations), then volumes, then a per-unit table with the units in trouble first."""
    cal = ctx.rt.calendar
    d = LeaderDigest(ctx.local(now).date(), since, until, leader_threshold=ctx.schedule.overdue_leader_workdays,
                     near_horizon=ctx.schedule.near_due_workdays, calendar_missing=calendar_alarm(ctx, now))
    d.unit_names = await directory.unit_names(uow)
    d.new = await uow.sweeps.count_new(since, until)
    units: dict[str, UnitLine] = {}

    def line(unit: str | None) -> UnitLine:
        return units.setdefault(unit or "", UnitLine(unit or ""))

    for action, to_status, unit, n in await uow.sweeps.count_events(since, until):
        if action == Action.RESOLVE.value:
            d.resolved += n
            line(unit).resolved += n
        elif action == Action.ESCALATE.value:
            d.escalated += n
        if to_status == Status.CLOSED.value:
            d.closed += n
            if action == Action.RATING_EXPIRED.value:
                d.not_rated += n
    d.overdue_count = await uow.sweeps.count_due_before(HANDLING, now)
    for a in await uow.sweeps.due_before(HANDLING, now, 500):
        assert a.due_at is not None
        days = max(1, cal.workdays_between(a.due_at, now))
        d.leader_alerts += days >= d.leader_threshold
        line(a.lead_unit_id).overdue += 1
        d.overdue.append(DigestItem(a.number, a.lead_unit_id or "", a.due_at, days))
    d.overdue.sort(key=lambda i: -i.days)
    d.overdue = d.overdue[:LIST_MAX]
    horizon = cal.add_workdays(now, ctx.schedule.near_due_workdays).at + timedelta(seconds=1)
    d.near_due_count = await uow.sweeps.count_due_before(HANDLING, horizon) - d.overdue_count
    for a in await uow.sweeps.due_before(HANDLING, horizon, d.overdue_count + LIST_MAX):
        if a.due_at is not None and a.due_at >= now and len(d.near_due) < LIST_MAX:
            d.near_due.append(DigestItem(a.number, a.lead_unit_id or "", a.due_at,
                                         cal.workdays_between(now, a.due_at)))
    d.bad_reviews = await uow.sweeps.count_status(BAD_REVIEW)
    for unit, n in await uow.sweeps.open_by_unit(HANDLING):
        line(unit).open += n
    d.units = sorted((u for u in units.values() if u.unit_id), key=lambda u: (-u.overdue, -u.open, u.unit_id))
    d.units = d.units[:UNITS_MAX]
    d.improvement = await digest_lines(uow, ctx.rt, since, until, now)
    return d


async def on_demand(uow: UnitOfWork, ctx: SweepContext, identity: Identity) -> LeaderDigest:
    """日报: the leader digest now, for leaders and dispatchers; the period starts at the previous
    working day's digest time, as the scheduled one does."""
    require_role(identity, "leader", "dispatcher", code="digest_roles")
    now = ctx.now()
    since = ctx.digest_moment(ctx.previous_workday(ctx.local(now).date()))
    return await leader_digest(uow, ctx, since, now, now)


def calendar_alarm(ctx: SweepContext, now: datetime) -> list[int]:
    """Years whose holidays are missing, from 1 November for next year: a line in the digests while it lasts."""
    return ctx.rt.calendar.missing_years(ctx.local(now).date())


def _digest_due(ctx: SweepContext, now: datetime, enabled: bool) -> bool:
    """Digests go out once a working day, at or after digest_time and before quiet hours start."""
    local = ctx.local(now)
    return (enabled and ctx.rt.calendar.is_workday(local.date()) and not ctx.is_quiet(now)
            and local >= ctx.digest_moment(local.date()))


async def send_leader_digest(ctx: SweepContext) -> int:
    now = ctx.now()
    if not _digest_due(ctx, now, ctx.schedule.leader_digest):
        return 0
    today = ctx.local(now).date()
    async with ctx.rt.uow() as uow:
        keys = await uow.directory.keys_for_role("leader")
        if not await uow.sweeps.claim("digest_leader", "leaders", today.isoformat(), now, recipients=len(keys)):
            return 0
        until = ctx.digest_moment(today)
        digest = await leader_digest(uow, ctx, ctx.digest_moment(ctx.previous_workday(today)), until, now)
        sent = await ctx.send(uow, keys, ctx.render.digest("leader", digest))
        await uow.commit()
    return sent


async def send_todo_digests(ctx: SweepContext) -> int:
    """Each unit with open work: its handlers get the to-do list, deadlines first."""
    now = ctx.now()
    if not _digest_due(ctx, now, ctx.schedule.handler_digest):
        return 0
    today = ctx.today(now)
    sent = 0
    async with ctx.rt.uow() as uow:
        unit_ids = await uow.sweeps.units_holding()
    for unit_id in unit_ids:
        async with ctx.rt.uow() as uow:
            keys = await uow.handling.keys_for_unit(unit_id)
            if not await uow.sweeps.claim("digest_todo", unit_id, today, now, recipients=len(keys)):
                continue
            items = await uow.handling.held_by_unit(unit_id)
            names = await directory.unit_names(uow)
            if items:
                sent += await ctx.send(uow, keys, ctx.render.digest(
                    "todo", TodoDigest(unit_id, names.get(unit_id, unit_id), items, now)))
            await uow.commit()
    return sent


async def send_pool_digest(ctx: SweepContext) -> int:
    """The dispatchers: what waits in the pool and which extension requests wait for them."""
    now = ctx.now()
    if not _digest_due(ctx, now, ctx.schedule.dispatcher_digest):
        return 0
    days = ctx.rt.policy.time_limits.dispatch
    async with ctx.rt.uow() as uow:
        keys = await uow.directory.keys_for_role("dispatcher")
        if not await uow.sweeps.claim("digest_pool", "dispatchers", ctx.today(now), now, recipients=len(keys)):
            return 0
        count = await uow.sweeps.count_status([Status.SUBMITTED.value])
        oldest = await uow.handling.pool(50)
        late = sum(1 for a in oldest
                   if ctx.rt.calendar.add_workdays(a.status_since or a.submitted_at, days).at < now)
        extensions = await uow.handling.pending_extensions()
        missing = calendar_alarm(ctx, now)
        sent = 0
        if count or extensions or missing:
            sent = await ctx.send(uow, keys, ctx.render.digest(
                "pool", PoolDigest(count, oldest[:LIST_MAX], late, extensions, now, missing)))
        await uow.commit()
    return sent


def register(reg: SweepRegistry) -> None:
    reg.add("digest_leader", send_leader_digest)
    reg.add("digest_todo", send_todo_digests)
    reg.add("digest_pool", send_pool_digest)
