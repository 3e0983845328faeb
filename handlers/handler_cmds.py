"""Handler commands: 待办, 签收, 退回, 进展, 延期, 办结, 提级, and 详情 for every role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot import texts
from bot.domain.appeal import Action, AppealEvent, Status
from bot.messages import Choice
from bot.services import handling as svc
from bot.services.improvement import split_unsolvable, unsolvable_mark
from bot.services.ports import Holding
from handlers.handling_common import (
    Malformed,
    appeal_command,
    co_text,
    due_text,
    gap,
    parse_days,
    parse_number,
    phone_for,
    rating_choices,
    short,
    staff_offer,
    tell_assigned,
    tell_dispatchers,
    tell_enterprise,
    tell_unit,
    to_sign_off,
    unit_holds,
    unit_names,
    with_warnings,
)
from handlers.registry import DISPATCHER, HANDLER, STAFF, CommandRegistry
from handlers.render import fmt_date, fmt_time, unverified_mark
from handlers.steps import Step
from handlers.turn import Turn


async def todo(turn: Turn, arg: str) -> None:
    items = await svc.todo(turn.uow, turn.identity)
    names = await unit_names(turn)
    staff = turn.identity.staff
    assert staff is not None  # svc.todo refused anyone else
    if not items:
        turn.say(texts.TODO_EMPTY)
        return
    lines = [texts.TODO_HEAD.format(unit=names.get(staff.unit_id, staff.unit_id), n=len(items))]
    for appeal, spell in items:
        overdue = texts.TODO_OVERDUE if turn.now > spell.due_at else ""
        if spell.accepted_at is None:
            overdue += texts.TODO_NOT_ACCEPTED
        lines.append(texts.TODO_LINE.format(number=appeal.number, role=texts.TODO_ROLE[spell.role],
                                            status=texts.STATUS[appeal.status], category=appeal.category,
                                            due=due_text(turn, spell.due_at), gap=gap(spell.calendar_gap),
                                            overdue=overdue))
    lines.append(texts.TODO_TAIL)
    pending = [a for a, h in items if h.accepted_at is None][:5]
    turn.say("\n".join(lines), [Choice(f"签收 {a.number}", f"签收 {a.number}") for a in pending])


@appeal_command(texts.NUMBER_USAGE.format(command="签收"), word="签收", offer=to_sign_off)
async def accept(turn: Turn, number: str, rest: str) -> None:
    result = await svc.accept(turn.uow, turn.rt, turn.identity, number)
    a, spell = result.appeal, result.spell
    names = await unit_names(turn)
    unit = names.get(spell.unit_id, spell.unit_id)
    if spell.role == "lead":
        tell_enterprise(turn, a, texts.ENT_ACCEPTED.format(number=a.number, unit=unit))
        turn.say(texts.ACCEPTED_LEAD.format(number=a.number, due=due_text(turn, a.due_at), gap=gap(a.calendar_gap),
                                            company=a.enterprise_name, contact=a.contact,
                                            phone=phone_for(a, True), text=a.text),
                 [Choice(label, f"{word} {a.number}") for label, word in texts.AFTER_ACCEPT_LEAD],
                 appeal_number=a.number)
    else:
        turn.say(texts.ACCEPTED_CO.format(number=a.number, due=due_text(turn, spell.due_at),
                                          lead=names.get(a.lead_unit_id or "", "")),
                 [Choice(label, f"{word} {a.number}") for label, word in texts.AFTER_ACCEPT_CO],
                 appeal_number=a.number)


def asks_for_the_rest(word: str) -> Callable[[Turn, str], Awaitable[None]]:
    """`办结 编号` alone (what the buttons after 签收 send) asks for the text, then runs the command."""
    async def command(turn: Turn, arg: str) -> None:
        number, rest = parse_number(arg)
        if number is None or rest.strip():
            await NEEDS_TEXT[word](turn, arg)
            return
        turn.reset()
        turn.state.data = {"command": word, "number": number}
        turn.goto(Step.HANDLING_TEXT)
        turn.say(texts.ASK_THE_REST[word].format(number=number, ext=turn.rt.policy.time_limits.extension_max),
                 appeal_number=number)
    return command


async def on_the_rest(turn: Turn) -> None:
    word, number = turn.draft["command"], turn.draft["number"]
    turn.reset()
    await NEEDS_TEXT[word](turn, f"{number} {turn.text}")


@appeal_command(texts.RETURN_USAGE, word="退回", offer=unit_holds)
async def return_(turn: Turn, number: str, reason: str) -> None:
    appeal = await svc.return_appeal(turn.uow, turn.rt, turn.identity, number, reason)
    staff = turn.identity.staff
    names = await unit_names(turn)
    unit = names.get(staff.unit_id, "") if staff else ""
    note = texts.STAFF_RETURNED.format(number=appeal.number, unit=unit, reason=reason)
    await tell_dispatchers(turn, note, appeal.number)
    tell_enterprise(turn, appeal, texts.ENT_RETURNED.format(number=appeal.number))
    turn.say(texts.RETURNED_OK.format(number=appeal.number), appeal_number=appeal.number)


@appeal_command(texts.PROGRESS_USAGE, word="进展", offer=unit_holds)
async def progress(turn: Turn, number: str, text: str) -> None:
    appeal, spell = await svc.progress(turn.uow, turn.rt, turn.identity, number, text)
    names = await unit_names(turn)
    unit = names.get(spell.unit_id, spell.unit_id)
    if spell.role == "lead":
        tell_enterprise(turn, appeal, texts.ENT_PROGRESS.format(number=appeal.number, unit=unit, text=text.strip()))
        told = texts.PROGRESS_TOLD_ENTERPRISE
    else:
        await tell_unit(turn, appeal.lead_unit_id, texts.STAFF_CO_PROGRESS.format(
            number=appeal.number, unit=unit, text=text.strip()), appeal.number)
        told = texts.PROGRESS_TOLD_LEAD
    turn.say(texts.PROGRESS_OK.format(number=appeal.number, told=told), appeal_number=appeal.number)


@appeal_command(texts.EXTEND_USAGE, word="延期", offer=unit_holds)
async def extend(turn: Turn, number: str, rest: str) -> None:
    parsed = parse_days(rest)  # 5 / 五天 / 一周 …
    if parsed is None:
        raise Malformed
    days, reason = parsed
    appeal, request = await svc.request_extension(turn.uow, turn.rt, turn.identity, number, days, reason)
    names = await unit_names(turn)
    due = due_text(turn, appeal.due_at)
    await tell_dispatchers(turn, texts.STAFF_EXT_REQUEST.format(
        number=appeal.number, unit=names.get(request.unit_id, ""), days=request.days, reason=request.reason,
        due=due), appeal.number)
    turn.say(texts.EXTEND_REQUESTED.format(number=appeal.number, days=request.days, due=due),
             appeal_number=appeal.number)


@appeal_command(texts.RESOLVE_USAGE, word="办结", offer=unit_holds)
async def resolve(turn: Turn, number: str, rest: str) -> None:
    outcome, text = "已解决", rest
    head, _, tail = rest.partition(" ")
    for word in svc.OUTCOMES:
        if head == word or (head.startswith(word) and head[len(word):len(word) + 1] in "：:，,"):
            outcome, text = word, (head[len(word) + 1:] + " " + tail).strip()
            break
    text, unsolvable = split_unsolvable(text)
    result = await svc.resolve(turn.uow, turn.rt, turn.identity, number, outcome, text, unsolvable)
    a = result.appeal
    names = await unit_names(turn)
    staff_unit = turn.identity.staff.unit_id if turn.identity.staff else ""
    unit = names.get(staff_unit, staff_unit)
    if result.co_report is not None:
        await tell_unit(turn, a.lead_unit_id, texts.STAFF_CO_REPORT.format(number=a.number, unit=unit, text=text),
                        a.number)
        turn.say(texts.CO_REPORTED_OK.format(lead=names.get(a.lead_unit_id or "", "")), appeal_number=a.number)
        return
    # The rating invitation is part of the 办结 notice, in this transaction; the sweeps only remind.
    until = turn.now + timedelta(days=turn.rt.policy.evaluation.rating_window_days)
    tell_enterprise(turn, a, texts.ENT_RESOLVED.format(number=a.number, outcome=outcome, unit=unit,
                                                       text=a.resolution, until=fmt_date(until, turn.rt.tz)),
                    rating_choices(a.number))
    await tell_dispatchers(turn, texts.STAFF_RESOLVED.format(number=a.number, unit=unit, outcome=outcome,
                                                             text=short(a.resolution or "")), a.number)
    for co in result.unreported or []:
        await tell_unit(turn, co, texts.STAFF_CLOSED_CO.format(number=a.number), a.number)
    unreported = [names.get(u, u) for u in result.unreported or []]
    reform = ""
    if result.reform_seq is not None:  # 现行机制无法解决: the centre collects it as a reform candidate
        label = texts.improvement_label("reform", result.reform_seq)
        await tell_dispatchers(turn, texts.STAFF_REFORM_MARK.format(
            number=a.number, category=a.category, unit=unit, reason=unsolvable, label=label, seq=result.reform_seq),
            a.number)
        reform = texts.RESOLVED_REFORM.format(label=label)
    turn.say(texts.RESOLVED_OK.format(number=a.number, outcome=outcome, unreported=texts.RESOLVED_UNREPORTED.format(
        names="、".join(unreported)) if unreported else "") + reform, appeal_number=a.number)


async def escalate(turn: Turn, arg: str) -> None:
    """提级: a handler asks the centre; a dispatcher escalates directly or decides a request (同意 / 驳回)."""
    verb, _, rest = arg.partition(" ")
    if verb in ("同意", "驳回"):
        await (_approve if verb == "同意" else _decline)(turn, rest.strip())
        return
    await _escalate(turn, arg)


@appeal_command(texts.ESCALATE_USAGE)
async def _escalate(turn: Turn, number: str, reason: str) -> None:
    staff = turn.identity.staff
    if staff is not None and staff.role == "dispatcher":
        await _escalated(turn, await svc.escalate(turn.uow, turn.rt, turn.identity, number, reason))
        return
    appeal = await svc.request_escalation(turn.uow, turn.rt, turn.identity, number, reason)
    names = await unit_names(turn)
    unit = names.get(appeal.lead_unit_id or "", appeal.lead_unit_id or "")
    await tell_dispatchers(turn, texts.STAFF_ESCALATE_REQUEST.format(number=appeal.number, unit=unit,
                                                                     reason=reason.strip()), appeal.number)
    turn.say(texts.ESCALATE_REQUESTED_OK.format(number=appeal.number, due=due_text(turn, appeal.due_at)),
             appeal_number=appeal.number)


@appeal_command(texts.ESCALATE_APPROVE_USAGE)
async def _approve(turn: Turn, number: str, rest: str) -> None:
    await _escalated(turn, await svc.approve_escalation(turn.uow, turn.rt, turn.identity, number))


@appeal_command(texts.ESCALATE_DECLINE_USAGE)
async def _decline(turn: Turn, number: str, reason: str) -> None:
    appeal, unit = await svc.decline_escalation(turn.uow, turn.rt, turn.identity, number, reason)
    names = await unit_names(turn)
    await tell_unit(turn, unit, texts.STAFF_ESCALATE_DECLINED.format(
        number=appeal.number, reason=reason.strip(), due=due_text(turn, appeal.due_at)), appeal.number)
    turn.say(texts.ESCALATE_DECLINED_OK.format(number=appeal.number, unit=names.get(unit, unit)),
             appeal_number=appeal.number)


async def _escalated(turn: Turn, e: svc.Escalated) -> None:
    """Tell the task force, the unit that led, and the enterprise; answer the dispatcher."""
    appeal, city = e.appeal, e.city
    names = await unit_names(turn)
    due, mark = due_text(turn, appeal.due_at), gap(appeal.calendar_gap)
    spells = await svc.open_holdings(turn.uow, appeal)
    lead_spell = next(h for h in spells if h.role == "lead")
    warnings = await tell_assigned(turn, city, texts.STAFF_NEW_TASK.format(
        number=appeal.number, company=appeal.enterprise_name, area=names.get(appeal.area_id, ""),
        category=appeal.category, type=appeal.type.value, text_short=short(appeal.text), lead=city.name,
        co=co_text([names.get(c, c) for c in appeal.co_unit_ids]),
        signoff=due_text(turn, lead_spell.signoff_due_at), due=due, gap=mark), appeal.number)
    await tell_unit(turn, e.old, texts.STAFF_ESCALATED_AWAY.format(number=appeal.number, city=city.name,
                                                                   reason=e.reason), appeal.number)
    tell_enterprise(turn, appeal, texts.ENT_ESCALATED.format(number=appeal.number, unit=city.name, due=due, gap=mark))
    turn.say(with_warnings(texts.ESCALATED_BY_CENTRE_OK.format(
        number=appeal.number, city=city.name, due=due, gap=mark, unit=names.get(e.old, e.old)), warnings),
        appeal_number=appeal.number)


def describe(e: AppealEvent, names: dict[str, str], tz: ZoneInfo) -> str:
    """One timeline line with what the event's data says (units, days, outcome), in Chinese."""
    d = e.data
    unit = names.get(str(d.get("unit", "")), str(d.get("unit", "")))
    lead = names.get(str(d.get("lead", "")), "")
    co = co_text([names.get(c, c) for c in d.get("co", [])])
    key = None
    if e.action == Action.DISPATCH:
        key = "dispatch_auto" if d.get("auto") else "dispatch"
    elif e.action == Action.RETURN:
        key = "transfer_return" if d.get("transfer") else "return"
    elif e.action == Action.ESCALATE:
        key = "escalate"
    elif e.action == Action.EXTEND and d.get("stage"):
        key = f"ext_{d['stage']}"
    elif e.action == Action.PROGRESS and d.get("role") == "co":
        key = "co_report" if d.get("report") else ("co_accept" if d.get("accepted") else None)
    elif e.action == Action.RESOLVE and d.get("outcome"):
        key = "resolve"
    elif e.action == Action.MERGE:
        key = "merge"
    elif e.action == Action.SUPPLEMENT and d.get("merged"):
        key = "merged"
    what = texts.ACTION[e.action]
    if key:
        what = texts.EVENT_DETAIL[key].format(lead=lead, co=co, unit=unit, days=d.get("days", ""),
                                              outcome=d.get("outcome", ""), into=d.get("into", ""),
                                              merged=d.get("merged", ""))
    note = f"：{e.note}" if e.note else ""
    if e.from_status is not None and e.from_status != e.to_status:
        note += f"（{texts.STATUS[e.from_status]}→{texts.STATUS[e.to_status]}）"
    return texts.TIMELINE_LINE.format(at=fmt_time(e.at, tz), who=e.actor.name or texts.SYSTEM_ACTOR,
                                      action=what, note=note)


def spell_line(turn: Turn, h: Holding, names: dict[str, str]) -> str:
    end = h.ended_at or turn.now
    hours = round((end - h.started_at).total_seconds() / 3600, 1)
    result = texts.SPELL_RESULT.get(h.end_reason, h.end_reason or "")
    if h.end_reason in ("resolved", "reported"):
        result += texts.SPELL_ON_TIME if end <= h.due_at else texts.SPELL_LATE
    return texts.SPELL_LINE.format(
        unit=names.get(h.unit_id, h.unit_id), role=texts.TODO_ROLE[h.role], start=fmt_time(h.started_at, turn.rt.tz),
        end=fmt_time(h.ended_at, turn.rt.tz) if h.ended_at else texts.SPELL_OPEN,
        days=turn.rt.calendar.workdays_between(h.started_at, end), hours=hours, result=result)


@appeal_command(texts.NUMBER_USAGE.format(command="详情"), word="详情", offer=staff_offer)
async def detail(turn: Turn, number: str, rest: str) -> None:
    d = await svc.detail(turn.uow, turn.identity, number)
    a = d.appeal
    names = await unit_names(turn)
    tz = turn.rt.tz
    lines = [describe(e, names, tz) for e in d.events]
    spells = "\n".join(spell_line(turn, h, names) for h in d.spells) or texts.DETAIL_NO_SPELLS
    mark = await unsolvable_mark(turn.uow, a.number)
    reform = texts.DETAIL_REFORM_MARK.format(
        reason=mark.title, label=texts.improvement_label(mark.kind, mark.seq),
        state=texts.IMPROVEMENT_STATE[mark.state]) if mark is not None else ""
    turn.say(texts.DETAIL_STAFF.format(
        number=a.number, source=texts.source_label(a), status=texts.STATUS[a.status],
        level=a.level.value, difficulty=a.difficulty.value, company=a.enterprise_name, uscc=a.uscc,
        unverified=unverified_mark(a), contact=a.contact, phone=phone_for(a, d.full_phone),
        area=names.get(a.area_id, a.area_id),
        category=a.category, type=a.type.value, lead=names.get(a.lead_unit_id or "", "—"),
        co=co_text([names.get(c, c) for c in a.co_unit_ids]),
        due=due_text(turn, a.due_at), gap=gap(a.calendar_gap and a.status != Status.SUBMITTED),
        text=a.text, timeline="\n".join(lines), spells=spells) + reform, appeal_number=a.number)


# What the four commands do once they have their text (the buttons after 签收 send only the number).
NEEDS_TEXT: dict[str, Callable[[Turn, str], Awaitable[None]]] = {
    "退回": return_, "进展": progress, "延期": extend, "办结": resolve}


def register(reg: CommandRegistry) -> None:
    reg.command("待办", "/todo", roles=HANDLER)(todo)
    reg.command("签收", "/accept", roles=HANDLER)(accept)
    for word, alias in (("退回", "/return"), ("进展", "/progress"), ("延期", "/extend"), ("办结", "/resolve")):
        reg.command(word, alias, roles=HANDLER)(asks_for_the_rest(word))
    reg.command("提级", "/escalate", roles=HANDLER | DISPATCHER)(escalate)
    reg.command("详情", "/detail", roles=STAFF)(detail)
    reg.step(Step.HANDLING_TEXT, on_the_rest, texts.HANDLING_TEXT_WHAT)
