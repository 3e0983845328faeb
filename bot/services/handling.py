"""Handler use cases: to-do list, sign-off, return, progress, extension, resolve, escalation request, detail."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.appeal import Action, Appeal, AppealEvent, Level, Status
from bot.domain.errors import Forbidden, InvalidInput, NotFound
from bot.services.access import (
    centre_dispatcher_and_appeal,
    held_appeal,
    require_centre_dispatcher,
    require_role,
)
from bot.services.appeals import actor_of, checked_text, load_appeal_for
from bot.services.dispatch import end_spells
from bot.services.improvement import mark_unsolvable
from bot.services.ports import ExtensionRequest, Holding, Identity, OrgUnit, UnitOfWork
from bot.services.runtime import Runtime

OUTCOMES = ("已解决", "部分解决", "未解决")


async def open_holdings(uow: UnitOfWork, appeal: Appeal) -> list[Holding]:
    """Who holds the appeal now: its lead spell and any co-units'."""
    return list(await uow.handling.holdings(appeal.id, open_only=True))


async def todo(uow: UnitOfWork, identity: Identity) -> list[tuple[Appeal, Holding]]:
    """待办: what the handler's unit holds now, earliest deadline first."""
    staff = require_role(identity, "handler", code="handler_only")
    return await uow.handling.held_by_unit(staff.unit_id)


@dataclass
class Accepted:
    appeal: Appeal
    spell: Holding


async def accept(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str) -> Accepted:
    """签收. The lead unit's sign-off moves the appeal to 办理中; a co-unit's signs off its sub-task."""
    appeal, staff, spell = await held_appeal(uow, identity, number)
    if spell.accepted_at is not None:
        raise InvalidInput("already_accepted", number=appeal.number)
    now = rt.now()
    actor = actor_of(identity, staff.name)
    if spell.role == "lead":
        appeal.apply(Action.ACCEPT, actor=actor, now=now, unit=staff.unit_id)
        appeal.handler_staff_id = staff.id
    else:
        appeal.apply(Action.PROGRESS, actor=actor, now=now, unit=staff.unit_id, role="co", accepted=True)
    await uow.appeals.save(appeal)
    spell.accepted_at, spell.accepted_by = now, staff.id
    await uow.handling.save_holding(spell)
    return Accepted(appeal, spell)


async def return_appeal(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, reason: str) -> Appeal:
    """退回: the lead unit says it is not responsible, within the sign-off limit, with a reason.

    The appeal goes back to 待受理 for the centre; every open spell ends as returned.
    """
    appeal, staff, spell = await held_appeal(uow, identity, number, lead_only=True)
    appeal.require(Action.RETURN)
    reason = checked_text(reason, "return_reason", rt)
    now = rt.now()
    if now > spell.signoff_due_at:
        raise Forbidden("return_too_late", number=appeal.number, days=rt.policy.time_limits.signoff)
    await end_spells(uow, appeal, now, "returned")
    appeal.apply(Action.RETURN, actor=actor_of(identity, staff.name), now=now, note=reason, unit=staff.unit_id)
    appeal.lead_unit_id, appeal.co_unit_ids, appeal.handler_staff_id, appeal.due_at = None, [], None, None
    await uow.appeals.save(appeal)
    return appeal


async def progress(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, text: str
                   ) -> tuple[Appeal, Holding]:
    """进展: a note on the timeline. The lead must have signed off first; a co-unit reports to the lead."""
    appeal, staff, spell = await held_appeal(uow, identity, number)
    text = checked_text(text, "progress_empty", rt)
    if spell.role == "lead" and appeal.status == Status.DISPATCHED:
        raise InvalidInput("accept_first", number=appeal.number)
    appeal.apply(Action.PROGRESS, actor=actor_of(identity, staff.name), now=rt.now(), note=text,
                 unit=staff.unit_id, role=spell.role)
    await uow.appeals.save(appeal)
    return appeal, spell


async def request_extension(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, days: int,
                            reason: str) -> tuple[Appeal, ExtensionRequest]:
    """延期 request: lead unit only, before the deadline, one per appeal, at most the configured days."""
    appeal, staff, _ = await held_appeal(uow, identity, number, lead_only=True)
    appeal.require(Action.EXTEND)
    limit = rt.policy.time_limits.extension_max
    if not 1 <= days <= limit:
        raise InvalidInput("extension_days", max=limit)
    reason = checked_text(reason, "extension_reason", rt)
    now = rt.now()
    if appeal.due_at is None or now > appeal.due_at:
        raise Forbidden("extension_after_due", number=appeal.number)
    earlier = await uow.handling.extensions(appeal.id)
    if any(e.status == "pending" for e in earlier):
        raise InvalidInput("extension_pending", number=appeal.number)
    if any(e.status == "approved" for e in earlier):
        raise Forbidden("extension_once", number=appeal.number)
    request = await uow.handling.add_extension(ExtensionRequest(
        appeal.id, staff.unit_id, staff.id, days, reason, now, appeal.due_at))
    appeal.apply(Action.EXTEND, actor=actor_of(identity, staff.name), now=now,
                 note=reason, stage="requested", days=days)
    await uow.appeals.save(appeal)
    return appeal, request


@dataclass
class Resolved:
    appeal: Appeal
    co_report: Holding | None = None  # set when a co-unit reported instead of closing
    unreported: list[str] | None = None  # co-units whose sub-task the lead's closure ended
    reform_seq: int | None = None  # the reform candidate a 现行机制无法解决 mark made


async def resolve(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, outcome: str, text: str,
                  unsolvable: str | None = None) -> Resolved:
    """办结. From the lead unit it closes the appeal (已办结) with outcome and explanation;
    from a co-unit it is that unit's report to the lead, which ends its sub-task. `unsolvable`: the
    reason the lead unit gives for 现行机制无法解决, which makes the problem a reform candidate."""
    appeal, staff, spell = await held_appeal(uow, identity, number)
    text = checked_text(text, "resolve_text", rt, minimum=4)
    if unsolvable is not None:
        if spell.role == "co":
            raise Forbidden("unsolvable_lead_only", number=appeal.number)
        unsolvable = checked_text(unsolvable, "unsolvable_reason", rt, minimum=4)
    now = rt.now()
    actor = actor_of(identity, staff.name)
    if spell.role == "co":
        appeal.apply(Action.PROGRESS, actor=actor, now=now, note=text, unit=staff.unit_id,
                     role="co", report=True)
        await uow.appeals.save(appeal)
        spell.reported_at, spell.report, spell.ended_at, spell.end_reason = now, text, now, "reported"
        await uow.handling.save_holding(spell)
        return Resolved(appeal, co_report=spell)
    if outcome not in OUTCOMES:
        raise InvalidInput("resolve_outcome")
    if appeal.status == Status.DISPATCHED:
        raise InvalidInput("accept_first", number=appeal.number)
    marks = {"unsolvable": unsolvable} if unsolvable is not None else {}
    appeal.apply(Action.RESOLVE, actor=actor, now=now, note=text, outcome=outcome,
                 on_time=bool(appeal.due_at and now <= appeal.due_at), **marks)
    appeal.outcome, appeal.resolution = outcome, text
    await uow.appeals.save(appeal)
    await end_spells(uow, appeal, now, "resolved", roles=("lead",))
    unreported = await end_spells(uow, appeal, now, "closed_by_lead", roles=("co",))
    reform = None
    if unsolvable is not None:
        reform = (await mark_unsolvable(uow, rt, staff, appeal.number, appeal.category, unsolvable)).seq
    return Resolved(appeal, unreported=[h.unit_id for h in unreported], reform_seq=reform)


async def _city(uow: UnitOfWork, appeal: Appeal) -> OrgUnit:
    city = [u for u in await uow.directory.units() if u.kind == "city_task_force"]
    if not city:
        raise NotFound("no_city_unit")
    if appeal.lead_unit_id == city[0].id:
        raise InvalidInput("already_city", number=appeal.number)
    return city[0]


def _pending(appeal: Appeal) -> dict | None:
    return appeal.flags.get("escalation_request") or None


def _without_request(appeal: Appeal) -> None:
    appeal.flags = {k: v for k, v in appeal.flags.items() if k != "escalation_request"}


async def request_escalation(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, reason: str) -> Appeal:
    """提级 by a handler: a request to the county centre, which decides and submits (规范 7.1). Until it
    decides, the unit keeps the appeal and its deadline."""
    appeal, staff, _ = await held_appeal(uow, identity, number, lead_only=True)
    appeal.require(Action.ESCALATE_REQUEST)
    reason = checked_text(reason, "escalate_reason", rt)
    await _city(uow, appeal)
    req = _pending(appeal)
    if req is not None and req["unit"] == staff.unit_id:  # a request left by a unit that no longer leads is stale
        raise InvalidInput("escalation_pending", number=appeal.number)
    now = rt.now()
    appeal.flags = {**appeal.flags, "escalation_request": {
        "unit": staff.unit_id, "by": staff.id, "reason": reason, "at": now.isoformat()}}
    appeal.apply(Action.ESCALATE_REQUEST, actor=actor_of(identity, staff.name), now=now, note=reason,
                 unit=staff.unit_id)
    await uow.appeals.save(appeal)
    return appeal


async def pending_escalations(uow: UnitOfWork, identity: Identity) -> list[tuple[Appeal, dict]]:
    """Requests awaiting the centre's decision, oldest first, for 待分派."""
    await require_centre_dispatcher(uow, identity)
    return [(a, req) for a in await uow.appeals.with_open_escalation_requests()
            if (req := _pending(a)) is not None and req["unit"] == a.lead_unit_id]


@dataclass
class Escalated:
    appeal: Appeal
    city: OrgUnit
    old: str  # the unit that led before
    reason: str
    requested: bool  # approved a unit's request (else the centre escalated directly)


async def escalate(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, reason: str) -> Escalated:
    """提级 by a dispatcher: the centre sends the appeal up to the city task force itself."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    appeal.require(Action.ESCALATE)
    reason = checked_text(reason, "escalate_reason", rt)
    return await _escalate(uow, rt, identity, staff.name, appeal, reason, requested=False)


async def approve_escalation(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str) -> Escalated:
    """提级 同意: the centre submits a unit's request; the appeal moves to 市级专班 with its deadline."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    req = _pending(appeal)
    if req is None:
        raise InvalidInput("no_escalation_request", number=appeal.number)
    if appeal.lead_unit_id != req["unit"] or not appeal.can(Action.ESCALATE):
        raise InvalidInput("escalation_moved", number=appeal.number)
    return await _escalate(uow, rt, identity, staff.name, appeal, str(req["reason"]), requested=True)


async def _escalate(uow: UnitOfWork, rt: Runtime, identity: Identity, name: str, appeal: Appeal, reason: str, *,
                    requested: bool) -> Escalated:
    city = await _city(uow, appeal)
    now = rt.now()
    old = appeal.lead_unit_id or ""
    _without_request(appeal)
    await end_spells(uow, appeal, now, "escalated", roles=("lead",))
    # The table moves ESCALATE to 已交办 directly: the escalation event is the hand-over to the
    # task force, which signs off like any lead unit; its spell and deadline start now.
    days = rt.policy.time_limits.city
    due = rt.calendar.add_workdays(now, days)
    signoff = rt.calendar.add_workdays(now, rt.policy.time_limits.signoff)
    appeal.apply(Action.ESCALATE, actor=actor_of(identity, name), now=now, note=reason, unit=old,
                 lead=city.id, days=days, due_at=due.at.isoformat(), requested=requested)
    appeal.level = Level.CITY
    appeal.lead_unit_id, appeal.handler_staff_id = city.id, None
    appeal.due_at, appeal.calendar_gap = due.at, appeal.calendar_gap or due.calendar_gap
    await uow.appeals.save(appeal)
    await uow.handling.add_holding(Holding(appeal.id, city.id, "lead", now, signoff.at, due.at, due.calendar_gap))
    return Escalated(appeal, city, old, reason, requested)


async def decline_escalation(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, reason: str
                             ) -> tuple[Appeal, str]:
    """提级 驳回: the centre refuses a unit's request, saying why; the unit carries on, its deadline unchanged."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    req = _pending(appeal)
    if req is None:
        raise InvalidInput("no_escalation_request", number=appeal.number)
    reason = checked_text(reason, "decline_reason", rt)
    _without_request(appeal)
    unit = str(req["unit"])
    if appeal.can(Action.ESCALATE_DECLINE):
        appeal.apply(Action.ESCALATE_DECLINE, actor=actor_of(identity, staff.name), now=rt.now(), note=reason,
                     unit=unit)
    await uow.appeals.save(appeal)
    return appeal, unit


@dataclass
class Detail:
    appeal: Appeal
    events: list[AppealEvent]
    spells: list[Holding]
    extensions: list[ExtensionRequest]
    full_phone: bool  # only the assigned handler's unit sees the whole mobile number


async def detail(uow: UnitOfWork, identity: Identity, number: str) -> Detail:
    """详情: the whole timeline. Staff of the centre and leaders see any appeal; a handler sees appeals
    its unit holds or held; an enterprise sees its own."""
    appeal = await load_appeal_for(uow, identity, number)
    spells = await uow.handling.holdings(appeal.id)
    full_phone = False
    if identity.staff is not None and identity.staff.role == "handler":
        if not any(h.unit_id == identity.staff.unit_id for h in spells):
            raise Forbidden("not_held_by_unit", number=appeal.number)
        full_phone = appeal.lead_unit_id == identity.staff.unit_id
    events = await uow.appeals.events(appeal.number)
    return Detail(appeal, events, spells, await uow.handling.extensions(appeal.id), full_phone)

