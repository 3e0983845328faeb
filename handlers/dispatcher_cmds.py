"""Dispatcher commands: 待分派, 分派, 转办, 批准延期, 驳回延期, 不予受理, 合并 (录入 is in entry.py)."""

from __future__ import annotations

from bot import texts
from bot.domain.appeal import Appeal, Difficulty
from bot.messages import Choice
from bot.services import dispatch as svc
from bot.services import handling
from bot.services.appeals import DIFFICULTY_EVIDENCE
from bot.services.tagging import category_unsure
from bot.services.units import AmbiguousUnit
from handlers.handling_common import (
    Malformed,
    announce_dispatch,
    appeal_command,
    ask_unit,
    asking_extension,
    co_text,
    due_text,
    gap,
    in_the_pool,
    parse_days,
    parse_number,
    short,
    tell_dispatchers,
    tell_enterprise,
    tell_unit,
    unit_names,
    with_warnings,
    words,
)
from handlers.registry import DISPATCHER, CommandRegistry
from handlers.render import fmt_date, unverified_mark
from handlers.turn import Turn

DIFFICULTIES = {d.value: d for d in Difficulty}


async def pool(turn: Turn, arg: str) -> None:
    entries = await svc.pool(turn.uow, turn.rt, turn.identity)
    extensions = await svc.pending_extensions(turn.uow, turn.identity)
    names = await unit_names(turn)
    tz = turn.rt.tz
    lines: list[str] = []
    if entries:
        lines.append(texts.POOL_HEAD.format(n=len(entries)))
        for e in entries:
            a, rule = e.appeal, e.suggestion
            suggestion = (names.get(rule.lead, rule.lead) + co_text([names.get(c, c) for c in rule.co])
                          if rule else texts.POOL_NO_SUGGESTION)
            lines.append(texts.POOL_LINE.format(
                number=a.number, company=a.enterprise_name, unverified=unverified_mark(a),
                area=names.get(a.area_id, ""), category=a.category,
                type=a.type.value, source=texts.source_label(a), submitted=fmt_date(a.submitted_at, tz),
                text_short=short(a.text, 40),
                suggestion=suggestion))
            words = a.tag_evidence.get(a.category) or []
            lines.append(texts.POOL_EVIDENCE.format(words="、".join(words[:5])) if words else texts.POOL_NO_EVIDENCE)
            unsure = category_unsure(turn.rt.tagger, a.text, a.category)
            if unsure:
                lines.append(texts.POOL_UNSURE.format(probability=unsure.probability, others="、".join(unsure.others)))
            if a.difficulty != Difficulty.NORMAL:
                hint_words = a.tag_evidence.get(DIFFICULTY_EVIDENCE) or []
                lines.append(texts.POOL_DIFFICULTY.format(difficulty=a.difficulty.value,
                                                          words="、".join(hint_words[:5]) or "—"))
        lines.append(texts.POOL_TAIL)
    else:
        lines.append(texts.POOL_EMPTY)
    if extensions:
        lines.append("")
        lines.append(texts.EXT_HEAD.format(n=len(extensions)))
        lines += [texts.EXT_LINE.format(number=n, unit=names.get(r.unit_id, r.unit_id), days=r.days,
                                        reason=r.reason, due=fmt_date(r.old_due_at, tz)) for n, r in extensions]
    escalations = await handling.pending_escalations(turn.uow, turn.identity)
    if escalations:
        lines.append("")
        lines.append(texts.ESC_HEAD.format(n=len(escalations)))
        lines += [texts.ESC_LINE.format(number=a.number, unit=names.get(str(r["unit"]), str(r["unit"])),
                                        reason=r["reason"], due=fmt_date(a.due_at, tz)) for a, r in escalations]
    groups = await svc.same_problem_groups(turn.uow, turn.identity, {e.appeal.number for e in entries})
    if groups:
        lines.append("")
        lines.append(texts.POOL_GROUPS_HEAD)
        lines += [texts.POOL_GROUP_LINE.format(n=len(g), numbers="、".join(g)) for g in groups]
    choices = [Choice(f"分派 {e.appeal.number}", f"分派 {e.appeal.number}") for e in entries[:5] if e.suggestion]
    turn.say("\n".join(lines), choices)


async def retag(turn: Turn, arg: str) -> None:
    """改类 编号 类别: correct the category; the correction feeds `qihu tags learn --from-pool`."""
    number, _, category = arg.strip().partition(" ")
    if not number or not category.strip():
        turn.say(texts.RETAG_USAGE)
        return
    done = await svc.retag(turn.uow, turn.rt, turn.identity, number, category)
    names = await unit_names(turn)
    rule = done.suggestion
    suggestion = (names.get(rule.lead, rule.lead) + co_text([names.get(c, c) for c in rule.co])
                  if rule else texts.POOL_NO_SUGGESTION)
    turn.say(texts.RETAGGED.format(number=done.appeal.number, old=done.old, new=done.appeal.category,
                                   suggestion=suggestion), appeal_number=done.appeal.number)


def parse_dispatch(rest: str) -> tuple[str, list[str], int | None, Difficulty | None] | None:
    """'供电公司 协办 经信局 财政局 时限 5 难度 复杂' → (lead, co, days, difficulty); None when malformed."""
    lead, co, days, difficulty = "", [], None, None
    mode = "lead"
    for word in words(rest):
        for key in ("时限", "难度", "协办"):
            if word.startswith(key) and word != key:  # glued: 时限5 / 难度复杂 / 协办经信局
                word = word[len(key):]
                mode = {"时限": "days", "难度": "difficulty", "协办": "co"}[key]
                break
        if word in ("协办", "时限", "难度"):
            mode = {"时限": "days", "难度": "difficulty", "协办": "co"}[word]
            continue
        if mode == "days":
            parsed = parse_days(word)  # 5 / 五天 / 一周
            if parsed is None or parsed[1]:
                return None
            days, mode = parsed[0], "co" if co else "lead"
        elif mode == "difficulty":
            if word not in DIFFICULTIES:
                return None
            difficulty, mode = DIFFICULTIES[word], "co" if co else "lead"
        elif mode == "lead" and not lead:
            lead = word
        else:
            co.append(word)
    return lead, co, days, difficulty


@appeal_command(texts.DISPATCH_USAGE, word="分派", offer=in_the_pool)
async def dispatch(turn: Turn, number: str, rest: str) -> None:
    parsed = parse_dispatch(rest)
    if parsed is None:
        raise Malformed
    lead, co, days, difficulty = parsed
    try:
        result = await svc.dispatch(turn.uow, turn.rt, turn.identity, number, lead, co, days, difficulty)
    except AmbiguousUnit as err:
        ask_unit(turn, err, turn.text)
        return
    warnings = await announce_dispatch(turn, result)
    turn.say(with_warnings(texts.DISPATCHED_OK.format(
        number=result.appeal.number, lead=result.lead.name, co=co_text([u.name for u in result.co]),
        due=due_text(turn, result.due.at), days=result.days, gap=gap(result.due.calendar_gap)), warnings),
        appeal_number=result.appeal.number)


@appeal_command(texts.TRANSFER_USAGE)
async def transfer(turn: Turn, number: str, rest: str) -> None:
    parts = rest.split(" ", 1)
    if not parts[0]:
        raise Malformed
    reason = parts[1] if len(parts) > 1 else ""
    try:
        result, old = await svc.transfer(turn.uow, turn.rt, turn.identity, number, parts[0], reason)
    except AmbiguousUnit as err:
        ask_unit(turn, err, turn.text)
        return
    names = await unit_names(turn)
    a = result.appeal
    await tell_unit(turn, old, texts.STAFF_TRANSFERRED_AWAY.format(number=a.number, lead=result.lead.name), a.number)
    warnings = await announce_dispatch(turn, result, texts.ENT_TRANSFERRED)
    turn.say(with_warnings(texts.TRANSFERRED_OK.format(
        number=a.number, old=names.get(old, old), lead=result.lead.name, due=due_text(turn, result.due.at),
        gap=gap(result.due.calendar_gap)), warnings), appeal_number=a.number)


@appeal_command(texts.APPROVE_USAGE, word="批准延期", offer=asking_extension)
async def approve_extension(turn: Turn, number: str, rest: str) -> None:
    appeal, request = await svc.approve_extension(turn.uow, turn.rt, turn.identity, number)
    due, mark = due_text(turn, appeal.due_at), gap(appeal.calendar_gap)
    await tell_unit(turn, request.unit_id, texts.STAFF_EXT_APPROVED.format(
        number=appeal.number, days=request.days, due=due, gap=mark), appeal.number)
    tell_enterprise(turn, appeal, texts.ENT_EXT_APPROVED.format(
        number=appeal.number, reason=request.reason, days=request.days, due=due, gap=mark,
        old=due_text(turn, request.old_due_at)))
    turn.say(texts.APPROVED_OK.format(number=appeal.number, days=request.days, due=due, gap=mark),
             appeal_number=appeal.number)


@appeal_command(texts.REFUSE_USAGE, word="驳回延期", offer=asking_extension)
async def refuse_extension(turn: Turn, number: str, reason: str) -> None:
    appeal, request = await svc.refuse_extension(turn.uow, turn.rt, turn.identity, number, reason)
    due = due_text(turn, appeal.due_at)
    await tell_unit(turn, request.unit_id, texts.STAFF_EXT_REFUSED.format(
        number=appeal.number, reason=request.decision_note, due=due), appeal.number)
    tell_enterprise(turn, appeal, texts.ENT_EXT_REFUSED.format(number=appeal.number, due=due))
    turn.say(texts.REFUSED_OK.format(number=appeal.number, due=due), appeal_number=appeal.number)


@appeal_command(texts.REJECT_USAGE, word="不予受理", offer=in_the_pool)
async def reject(turn: Turn, number: str, reason: str) -> None:
    appeal = await svc.reject(turn.uow, turn.rt, turn.identity, number, reason)
    tell_enterprise(turn, appeal, texts.ENT_REJECTED.format(number=appeal.number, reason=reason.strip()))
    turn.say(texts.REJECTED_OK.format(number=appeal.number), appeal_number=appeal.number)


@appeal_command(texts.MERGE_USAGE)
async def merge(turn: Turn, number: str, rest: str) -> None:
    into, _ = parse_number(rest.removeprefix("到").removeprefix("至").strip())
    if into is None:
        raise Malformed
    appeal, target = await svc.merge(turn.uow, turn.rt, turn.identity, number, into)
    tell_enterprise(turn, appeal, texts.ENT_MERGED.format(number=appeal.number))
    await tell_unit(turn, target.lead_unit_id, texts.STAFF_CO_REPORT.format(
        number=target.number, unit="服务中心", text=short(appeal.text)), target.number)
    turn.say(texts.MERGED_OK.format(number=appeal.number, into=target.number), appeal_number=appeal.number)


async def after_submit(turn: Turn, appeal: Appeal) -> svc.Dispatched | None:
    """Auto-dispatch a just-submitted appeal when its category is configured for it."""
    result = await svc.auto_dispatch(turn.uow, turn.rt, appeal)
    if result is not None:
        warnings = await announce_dispatch(turn, result)
        if warnings:  # nobody answered this dispatch: the centre hears it as a notice
            await tell_dispatchers(turn, with_warnings(texts.AUTO_DISPATCH_UNREACHED.format(
                number=appeal.number, lead=result.lead.name), warnings), appeal.number)
    return result


def register(reg: CommandRegistry) -> None:
    reg.command("待分派", "/pool", roles=DISPATCHER)(pool)
    reg.command("分派", "/dispatch", roles=DISPATCHER)(dispatch)
    reg.command("改类", "/retag", roles=DISPATCHER)(retag)
    reg.command("转办", "/transfer", roles=DISPATCHER)(transfer)
    reg.command("批准延期", "/approve", roles=DISPATCHER)(approve_extension)
    reg.command("驳回延期", "/refuse", roles=DISPATCHER)(refuse_extension)
    reg.command("不予受理", "/reject", roles=DISPATCHER)(reject)
    reg.command("合并", "/merge", roles=DISPATCHER)(merge)
