"""Dispatcher and leader use cases: the pool, routing, dispatch, transfer, extensions, reject, merge, urge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.appeal import Action, Actor, Appeal, Difficulty, Level, Status
from bot.domain.calendar import Deadline
from bot.domain.errors import InvalidInput, NotFound
from bot.services.access import centre_dispatcher_and_appeal, load_appeal, require_centre_dispatcher, require_role
from bot.services.appeals import actor_of
from bot.services.policy import Policy, RoutingRule
from bot.services.ports import ExtensionRequest, Holding, Identity, OrgUnit, UnitOfWork
from bot.services.runtime import Runtime
from bot.services.tagging import common_problems, record_tag_correction
from bot.services.units import match_unit

LEVEL_OF_KIND = {"township": Level.TOWNSHIP, "department": Level.COUNTY, "city_task_force": Level.CITY}
MAX_DISPATCH_DAYS = 60


def suggest_route(policy: Policy, appeal: Appeal) -> RoutingRule | None:
    """The most specific routing rule for the appeal's category, area and level, if any."""
    rules = [r for r in policy.routing if r.matches(appeal.category, appeal.area_id, appeal.level.value)]
    return max(rules, key=lambda r: r.specificity) if rules else None


@dataclass
class PoolEntry:
    appeal: Appeal
    suggestion: RoutingRule | None


async def pool(uow: UnitOfWork, rt: Runtime, identity: Identity, limit: int = 30) -> list[PoolEntry]:
    await require_centre_dispatcher(uow, identity)
    return [PoolEntry(a, suggest_route(rt.policy, a)) for a in await uow.handling.pool(limit)]


async def pending_extensions(uow: UnitOfWork, identity: Identity) -> list[tuple[str, ExtensionRequest]]:
    await require_centre_dispatcher(uow, identity)
    return await uow.handling.pending_extensions()


@dataclass
class Dispatched:
    appeal: Appeal
    lead: OrgUnit
    co: list[OrgUnit]
    days: int
    due: Deadline


async def _assignable(uow: UnitOfWork) -> list[OrgUnit]:
    return [u for u in await uow.directory.units() if u.kind in LEVEL_OF_KIND]


async def _assign(uow: UnitOfWork, rt: Runtime, appeal: Appeal, lead: OrgUnit, co: list[OrgUnit],
                  days: int | None, difficulty: Difficulty | None, actor: Actor, note: str = "",
                  **data: object) -> Dispatched:
    """Apply DISPATCH and open the holder spells; co-units already holding keep their spell."""
    if difficulty is not None:
        appeal.difficulty = difficulty
    appeal.level = LEVEL_OF_KIND[lead.kind]
    limits = rt.policy.time_limits
    days = days or limits.handling_days(appeal.type, appeal.difficulty, appeal.level)
    now = rt.now()
    due = rt.calendar.add_workdays(now, days)
    signoff = rt.calendar.add_workdays(now, limits.signoff)
    open_co = {h.unit_id for h in await uow.handling.holdings(appeal.id, open_only=True) if h.role == "co"}
    appeal.apply(Action.DISPATCH, actor=actor, now=now, note=note, lead=lead.id, co=[u.id for u in co],
                 days=days, due_at=due.at.isoformat(), calendar_gap=due.calendar_gap, **data)
    appeal.lead_unit_id = lead.id
    appeal.co_unit_ids = [u.id for u in co]
    appeal.handler_staff_id = None
    appeal.due_at = due.at
    appeal.calendar_gap = due.calendar_gap or appeal.calendar_gap
    await uow.appeals.save(appeal)
    await uow.handling.add_holding(Holding(appeal.id, lead.id, "lead", now, signoff.at, due.at, due.calendar_gap))
    co_due = rt.calendar.add_workdays(now, limits.co_unit)
    co_at = min(co_due.at, due.at)
    for unit in co:
        if unit.id not in open_co:
            await uow.handling.add_holding(Holding(appeal.id, unit.id, "co", now, signoff.at, co_at,
                                                   co_due.calendar_gap))
    return Dispatched(appeal, lead, co, days, due)


def _resolve_units(units: list[OrgUnit], lead_text: str, co_texts: list[str]) -> tuple[OrgUnit, list[OrgUnit]]:
    lead = match_unit(units, lead_text)
    co: list[OrgUnit] = []
    for text in co_texts:
        unit = match_unit(units, text)
        if unit.id != lead.id and unit not in co:
            co.append(unit)
    return lead, co


async def dispatch(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, lead_text: str = "",
                   co_texts: list[str] | None = None, days: int | None = None,
                   difficulty: Difficulty | None = None) -> Dispatched:
    """分派: the service centre sends a 待受理 appeal to a lead unit (and co-units) with a deadline.

    No lead given means "confirm the routing suggestion". Raises Forbidden (not a centre
    dispatcher), NotFound / AmbiguousUnit (unit text), InvalidInput (days), IllegalTransition.
    """
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    appeal.require(Action.DISPATCH)
    if days is not None and not 1 <= days <= MAX_DISPATCH_DAYS:
        raise InvalidInput("dispatch_days", max=MAX_DISPATCH_DAYS)
    units = await _assignable(uow)
    co_texts = list(co_texts or [])
    if not lead_text:
        rule = suggest_route(rt.policy, appeal)
        if rule is None:
            raise InvalidInput("dispatch_no_suggestion", number=appeal.number)
        by_id = {u.id: u for u in units}
        lead, co = by_id[rule.lead], [by_id[c] for c in rule.co if c in by_id and c != rule.lead]
        if co_texts:
            co = _resolve_units(units, lead.id, co_texts)[1]
    else:
        lead, co = _resolve_units(units, lead_text, co_texts)
    return await _assign(uow, rt, appeal, lead, co, days, difficulty, actor_of(identity, staff.name))


async def auto_dispatch(uow: UnitOfWork, rt: Runtime, appeal: Appeal) -> Dispatched | None:
    """For categories configured for auto-dispatch with a matching rule: dispatch as the system."""
    if appeal.category not in rt.policy.auto_dispatch_categories or appeal.status != Status.SUBMITTED:
        return None
    rule = suggest_route(rt.policy, appeal)
    by_id = {u.id: u for u in await _assignable(uow)}
    if rule is None or rule.lead not in by_id:
        return None
    co = [by_id[c] for c in rule.co if c in by_id and c != rule.lead]
    return await _assign(uow, rt, appeal, by_id[rule.lead], co, None, None, Actor.system(), auto=True)


async def end_spells(uow: UnitOfWork, appeal: Appeal, now: datetime, reason: str, *,
                     roles: tuple[str, ...] = ("lead", "co")) -> list[Holding]:
    """Close the open holder spells of these roles; returns them (for messages and figures)."""
    ended = []
    for h in await uow.handling.holdings(appeal.id, open_only=True):
        if h.role in roles:
            h.ended_at, h.end_reason = now, reason
            await uow.handling.save_holding(h)
            ended.append(h)
    return ended


async def transfer(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, lead_text: str,
                   reason: str) -> tuple[Dispatched, str]:
    """转办: the centre moves an appeal being handled to another lead unit; returns (result, old lead)."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    appeal.require(Action.RETURN)
    lead = match_unit(await _assignable(uow), lead_text)
    old = appeal.lead_unit_id or ""
    if lead.id == old:
        raise InvalidInput("transfer_same_unit", number=appeal.number)
    now = rt.now()
    actor = actor_of(identity, staff.name)
    await end_spells(uow, appeal, now, "transferred", roles=("lead",))
    appeal.apply(Action.RETURN, actor=actor, now=now, note=reason, transfer=True, unit=old)
    units = {u.id: u for u in await _assignable(uow)}
    co = [units[c] for c in appeal.co_unit_ids if c in units and c != lead.id]
    return await _assign(uow, rt, appeal, lead, co, None, None, actor, transfer=True), old


def _need_reason(reason: str, code: str) -> str:
    reason = reason.strip()
    if len(reason) < 2:
        raise InvalidInput(code)
    return reason[:500]


async def _pending_extension(uow: UnitOfWork, appeal: Appeal) -> ExtensionRequest:
    pending = [e for e in await uow.handling.extensions(appeal.id) if e.status == "pending"]
    if not pending:
        raise NotFound("extension_none", number=appeal.number)
    return pending[-1]


async def approve_extension(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str
                            ) -> tuple[Appeal, ExtensionRequest]:
    """批准延期: the deadline moves by the requested working days; the lead spell's deadline too."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    request = await _pending_extension(uow, appeal)
    appeal.require(Action.EXTEND)
    now = rt.now()
    moved = rt.calendar.extend(appeal.due_at or request.old_due_at, request.days)
    appeal.apply(Action.EXTEND, actor=actor_of(identity, staff.name), now=now,
                 stage="approved", days=request.days,
                 due_at=moved.at.isoformat())
    appeal.due_at = moved.at
    appeal.calendar_gap = appeal.calendar_gap or moved.calendar_gap
    await uow.appeals.save(appeal)
    for h in await uow.handling.holdings(appeal.id, open_only=True):
        if h.role == "lead":
            h.due_at, h.calendar_gap = moved.at, h.calendar_gap or moved.calendar_gap
            await uow.handling.save_holding(h)
    request.status, request.new_due_at, request.decided_by, request.decided_at = "approved", moved.at, staff.id, now
    await uow.handling.save_extension(request)
    return appeal, request


async def refuse_extension(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, reason: str
                           ) -> tuple[Appeal, ExtensionRequest]:
    """驳回延期: the deadline stays; the reason goes to the unit and the enterprise."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    request = await _pending_extension(uow, appeal)
    reason = _need_reason(reason, "extension_refuse_reason")
    now = rt.now()
    appeal.apply(Action.EXTEND, actor=actor_of(identity, staff.name), now=now, note=reason,
                 stage="refused", days=request.days)
    await uow.appeals.save(appeal)
    request.status, request.decided_by, request.decided_at, request.decision_note = "refused", staff.id, now, reason
    await uow.handling.save_extension(request)
    return appeal, request


async def reject(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, reason: str) -> Appeal:
    """不予受理 with a reason the enterprise is told."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    appeal.require(Action.REJECT)
    reason = _need_reason(reason, "reject_reason")
    appeal.apply(Action.REJECT, actor=actor_of(identity, staff.name), now=rt.now(), note=reason)
    await uow.appeals.save(appeal)
    return appeal


async def merge(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, into: str) -> tuple[Appeal, Appeal]:
    """合并 A 到 B: A leaves the pool as merged; B's timeline notes it, so B's handler sees A's text."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    target = await load_appeal(uow, into)
    if target.number == appeal.number:
        raise InvalidInput("merge_self", number=appeal.number)
    appeal.require(Action.MERGE)
    if not target.can(Action.SUPPLEMENT):
        raise InvalidInput("merge_target_closed", number=target.number)
    now = rt.now()
    actor = actor_of(identity, staff.name)
    appeal.apply(Action.MERGE, actor=actor, now=now, into=target.number)
    appeal.flags = {**appeal.flags, "merged_into": target.number}
    await uow.appeals.save(appeal)
    target.apply(Action.SUPPLEMENT, actor=actor, now=now, note=appeal.text[:300],
                 merged=appeal.number)
    await uow.appeals.save(target)
    return appeal, target


async def urge(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, opinion: str) -> Appeal:
    """督办: a leader's instruction on an open appeal, recorded and sent to the holders."""
    staff = require_role(identity, "leader", code="leader_only")
    appeal = await load_appeal(uow, number)
    appeal.require(Action.URGE)
    opinion = _need_reason(opinion, "urge_opinion")
    appeal.apply(Action.URGE, actor=actor_of(identity, staff.name), now=rt.now(), note=opinion)
    await uow.appeals.save(appeal)
    return appeal


@dataclass
class Retagged:
    appeal: Appeal
    old: str
    suggestion: RoutingRule | None


async def retag(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, category: str) -> Retagged:
    """A dispatcher corrects an appeal's category; the correction is kept with the text as learning
    data (`qihu tags learn --from-pool`) and the routing suggestion is worked out again."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    wanted = category.strip()
    if wanted not in rt.tagger.categories:
        raise InvalidInput("category_unknown", category=wanted[:20], choices="、".join(rt.tagger.categories))
    old = appeal.category
    if wanted == old:
        raise InvalidInput("category_same", number=appeal.number, category=old)
    appeal.apply(Action.RETAG, actor=actor_of(identity), now=rt.now(), note=f"{old} → {wanted}",
                 old=old, new=wanted)
    appeal.categories = [wanted, *[c for c in appeal.categories if c not in (wanted, old)]]
    await uow.appeals.save(appeal)
    await record_tag_correction(uow, appeal.number, old, wanted, staff.id, now=rt.now())
    return Retagged(appeal, old, suggest_route(rt.policy, appeal))


async def same_problem_groups(uow: UnitOfWork, identity: Identity, numbers: set[str]) -> list[tuple[str, ...]]:
    """Groups of open appeals from several enterprises on one problem that touch the given appeals."""
    await require_centre_dispatcher(uow, identity)
    return [g.numbers for g in await common_problems(uow, touching=numbers)]
