"""Enterprise commands: 查询, 补充, 撤回, and telling a new problem from a supplement."""

from __future__ import annotations

import asyncio

from bot import texts
from bot.domain.appeal import Action, Appeal
from bot.messages import Choice
from bot.services import appeals as svc
from bot.services import directory, tagging
from bot.services.access import require_enterprise
from handlers import filing
from handlers.handling_common import parse_number
from handlers.registry import ALL_ROLES, ENTERPRISE, CommandRegistry
from handlers.render import fmt_date, timeline, unverified_mark
from handlers.steps import Step
from handlers.turn import Turn


async def query(turn: Turn, arg: str) -> None:
    number, _ = parse_number(arg)
    tz = turn.rt.tz
    if number:
        appeal, events = await svc.appeal_with_timeline(turn.uow, turn.identity, number)
        turn.say(texts.DETAIL.format(
            number=appeal.number, status=texts.STATUS[appeal.status],
            company=appeal.enterprise_name + (unverified_mark(appeal) if turn.identity.staff else ""),
            category=appeal.category, type=appeal.type.value, submitted=fmt_date(appeal.submitted_at, tz),
            promised=fmt_date(appeal.due_at or appeal.promised_at, tz), text=appeal.text,
            timeline=timeline(events, tz),
        ), appeal_number=appeal.number)
        return
    if arg.strip():
        turn.say(texts.ERRORS["appeal_not_found"].format(number=arg.strip()[:30]))
        return
    appeals = await svc.own_open_appeals(turn.uow, turn.identity)
    if not appeals:
        turn.say(texts.NO_OPEN_APPEALS)
        return
    lines = [texts.OPEN_LIST_HEAD.format(n=len(appeals))]
    lines += [texts.OPEN_LIST_LINE.format(number=a.number, status=texts.STATUS[a.status], category=a.category,
                                          submitted=fmt_date(a.submitted_at, tz)) for a in appeals]
    lines.append(texts.OPEN_LIST_TAIL)
    turn.say("\n".join(lines), [Choice(f"查询 {a.number}", f"查询 {a.number}") for a in appeals[:5]])


async def _supplementable(turn: Turn) -> list[Appeal]:
    return [a for a in await svc.own_open_appeals(turn.uow, turn.identity) if svc.is_open_for_supplement(a)]


async def new(turn: Turn, arg: str) -> None:
    require_enterprise(turn.identity, "我要反映")
    await filing.start_filing(turn, arg or None)


async def supplement(turn: Turn, arg: str) -> None:
    require_enterprise(turn.identity, "补充")
    number, content = parse_number(arg)
    if number is None:
        if not content:
            turn.say(texts.SUPPLEMENT_USAGE)
            return
        candidates = await _supplementable(turn)
        if not candidates:
            turn.say(texts.SUPPLEMENT_NONE)
            return
        if len(candidates) > 1:
            await _ask_which(turn, content, candidates)
            return
        number = candidates[0].number
    if not content:
        turn.say(texts.SUPPLEMENT_USAGE)
        return
    await _do_supplement(turn, number, content)


async def _do_supplement(turn: Turn, number: str, content: str) -> None:
    appeal = await svc.supplement_appeal(turn.uow, turn.rt, turn.identity, number, content)
    turn.reset()
    turn.say(texts.SUPPLEMENTED.format(number=appeal.number), appeal_number=appeal.number)


async def _ask_which(turn: Turn, content: str, candidates: list[Appeal]) -> None:
    turn.reset()
    turn.state.data = {"pending_text": content}
    turn.goto(Step.SUPPLEMENT_PICK)
    turn.say(texts.SUPPLEMENT_PICK, [Choice(texts.SUPPLEMENT_TO.format(number=a.number, category=a.category),
                                            a.number) for a in candidates[:8]])


async def _supplement_choices(turn: Turn, numbers: list[str]) -> list[Choice]:
    """The offered appeals again, labelled as the first time (number and category)."""
    category = {a.number: a.category for a in await _supplementable(turn)}
    return [Choice(texts.SUPPLEMENT_TO.format(number=n, category=category.get(n, "")).replace("（）", ""), n)
            for n in numbers]


async def pick_supplement(turn: Turn) -> None:
    number, _ = parse_number(turn.text)
    if number is None:
        why = texts.NOT_AN_OPTION.format(text=turn.text[:20])
        turn.say(why + texts.SUPPLEMENT_PICK, await _supplement_choices(turn, list(turn.state.choices)))
        return
    await _do_supplement(turn, number, turn.draft.get("pending_text", ""))


async def free_text(turn: Turn) -> None:
    """Text that reads like a problem: a new appeal, unless it may belong to an open one (then ask).

    The open appeals most like the text are offered first; when one is clearly the same matter the
    question names it ("是否为对 编号 的补充？").
    """
    candidates = await _supplementable(turn)
    if not candidates:
        await filing.start_filing(turn, turn.text)
        return
    tagger = turn.rt.tagger
    if tagger.rules.scoring.match == "token" and not tagger.tokenizer.ready:
        await asyncio.to_thread(tagger.tokenizer.load)  # never load the dictionary on the event loop
    similar = tagging.similar_own_appeals(turn.text, candidates, tagger)
    similar_numbers = {a.number for a, _ in similar}
    ordered = [a for a, _ in similar] + [a for a in candidates if a.number not in similar_numbers]
    turn.reset()
    turn.state.data = {"pending_text": turn.text}
    turn.goto(Step.NEW_OR_SUPPLEMENT)
    question = texts.NEW_OR_SUPPLEMENT
    if similar:
        best = similar[0][0]
        question += "\n" + texts.SIMILAR_APPEAL_QUESTION.format(number=best.number, category=best.category)
    turn.say(question, [
        Choice(texts.NEW_APPEAL_CHOICE, texts.NEW_APPEAL_CHOICE),
        *[Choice(texts.SUPPLEMENT_TO.format(number=a.number, category=a.category), a.number)
          for a in ordered[:5]],
    ])


async def new_or_supplement(turn: Turn) -> None:
    pending = turn.draft.get("pending_text", "")
    if turn.text == texts.NEW_APPEAL_CHOICE:
        await filing.start_filing(turn, pending)
        return
    number, _ = parse_number(turn.text)
    if number is None:
        why = texts.NOT_AN_OPTION.format(text=turn.text[:20])
        turn.say(why + texts.NEW_OR_SUPPLEMENT, [Choice(texts.NEW_APPEAL_CHOICE, texts.NEW_APPEAL_CHOICE)] +
                 await _supplement_choices(turn, [n for n in turn.state.choices if n != texts.NEW_APPEAL_CHOICE]))
        return
    await _do_supplement(turn, number, pending)


async def withdraw(turn: Turn, arg: str) -> None:
    require_enterprise(turn.identity, "撤回")
    number, reason = parse_number(arg)
    if number is None:
        turn.say(texts.WITHDRAW_USAGE)
        return
    appeal = await svc.load_appeal_for(turn.uow, turn.identity, number)
    appeal.require(Action.WITHDRAW)
    turn.reset()
    turn.state.data = {"number": appeal.number, "reason": reason}
    turn.goto(Step.WITHDRAW_CONFIRM)
    turn.say(texts.WITHDRAW_CONFIRM.format(number=appeal.number, category=appeal.category),
             [Choice(texts.WITHDRAW_YES, texts.WITHDRAW_YES), Choice(texts.WITHDRAW_NO, texts.WITHDRAW_NO)],
             appeal_number=appeal.number)


async def confirm_withdraw(turn: Turn) -> None:
    number = turn.draft.get("number", "")
    if turn.text == texts.WITHDRAW_YES:
        reason = turn.draft.get("reason", "")
        appeal = await svc.withdraw_appeal(turn.uow, turn.rt, turn.identity, number, reason)
        turn.reset()
        turn.say(texts.WITHDRAWN.format(number=appeal.number), appeal_number=appeal.number)
        note = texts.WITHDRAWN_FOR_STAFF.format(number=appeal.number, reason=reason or "未说明")
        for key in await directory.dispatcher_keys(turn.uow):
            turn.notify(key, note, appeal.number)
    elif turn.text == texts.WITHDRAW_NO:
        turn.reset()
        turn.say(texts.WITHDRAW_KEPT.format(number=number))
    else:
        why = texts.NOT_AN_OPTION.format(text=turn.text[:20])
        turn.say(why + texts.WITHDRAW_CONFIRM.format(number=number, category=""),
                 [Choice(texts.WITHDRAW_YES, texts.WITHDRAW_YES), Choice(texts.WITHDRAW_NO, texts.WITHDRAW_NO)])


def register(reg: CommandRegistry) -> None:
    reg.command("我要反映", "反映问题", "/new", roles=ENTERPRISE)(new)
    reg.command("查询", "/status", roles=ALL_ROLES)(query)
    reg.command("补充", "/supplement", roles=ENTERPRISE)(supplement)
    reg.command("撤回", "/withdraw", roles=ENTERPRISE)(withdraw)
    for step in Step:
        if step.value.startswith("filing."):
            reg.step(step, filing.handle, texts.FILING_WHAT)
    reg.step(Step.NEW_OR_SUPPLEMENT, new_or_supplement, "选择")
    reg.step(Step.SUPPLEMENT_PICK, pick_supplement, "选择诉求")
    reg.step(Step.WITHDRAW_CONFIRM, confirm_withdraw, "确认撤回")
