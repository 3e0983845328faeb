"""录入: the dispatcher's guided entry of a hotline, window or visit appeal, one field per message."""

from __future__ import annotations

import asyncio

from bot import texts
from bot.domain import answers
from bot.domain.appeal import AppealType, Source
from bot.domain.errors import DomainError, InvalidInput
from bot.domain.identifiers import normalize_phone, normalize_uscc
from bot.messages import Choice
from bot.services import appeals as appeal_svc
from bot.services import directory, intake
from bot.services.access import require_centre_dispatcher
from bot.services.units import match_unit
from handlers import dispatcher_cmds
from handlers.registry import DISPATCHER, CommandRegistry
from handlers.render import refusal
from handlers.steps import Step
from handlers.turn import Turn

FIELDS = ("company", "uscc", "contact", "phone", "area", "text", "category", "type")


def _sources() -> list[Choice]:
    return [Choice(texts.SOURCE[s], s.value) for s in intake.ENTRY_SOURCES]


async def start(turn: Turn, arg: str) -> None:
    await require_centre_dispatcher(turn.uow, turn.identity)  # refuse before asking anything
    turn.reset()
    turn.goto(Step.ENTRY_SOURCE)
    turn.say(texts.ENTRY_ASK_SOURCE, _sources())


async def _townships(turn: Turn) -> list:  # type: ignore[type-arg]
    return await directory.townships(turn.uow)


async def _ask(turn: Turn) -> None:
    field = turn.draft["field"]
    question = texts.ENTRY_ASK[field].format(min=turn.rt.policy.text_min_chars, max=turn.rt.policy.text_max_chars)
    choices: list[Choice] = []
    if field == "area":
        choices = [Choice(u.name, u.name) for u in await _townships(turn)]
    elif field == "category":
        tagger = turn.rt.tagger
        if not tagger.tokenizer.ready:
            await asyncio.to_thread(tagger.tokenizer.load)
        suggested = [s.label for s in tagger.suggest(turn.draft.get("text", ""))]
        choices = [Choice(c, c) for c in [*suggested, *[c for c in tagger.categories if c not in suggested]]]
    elif field == "type":
        choices = [Choice(t.value, t.value) for t in AppealType]
    turn.say(question, choices)


async def _next(turn: Turn) -> None:
    missing = [f for f in FIELDS if not turn.draft.get(f)]
    if missing:
        turn.draft["field"] = missing[0]
        turn.goto(Step.ENTRY_FIELD)
        await _ask(turn)
        return
    d = turn.draft
    areas = {u.id: u.name for u in await _townships(turn)}
    turn.goto(Step.ENTRY_CONFIRM)
    turn.say(texts.ENTRY_SUMMARY.format(source=texts.SOURCE[Source(d["source"])], company=d["company"],
                                        uscc=d["uscc"], contact=d["contact"], phone=d["phone"],
                                        area=areas.get(d["area"], d["area"]), type=d["type"],
                                        category=d["category"], text=d["text"]),
             [Choice(texts.CONFIRM_SUBMIT, texts.CONFIRM_SUBMIT), Choice(texts.CONFIRM_CANCEL, texts.CONFIRM_CANCEL)])


async def on_source(turn: Turn) -> None:
    by_label = {c.label: c.value for c in _sources()}
    value = by_label.get(turn.text, turn.text)
    if value not in {s.value for s in intake.ENTRY_SOURCES}:
        turn.say(texts.ENTRY_SOURCE_UNKNOWN, _sources())
        return
    turn.draft["source"] = value
    await _next(turn)


async def on_field(turn: Turn) -> None:
    d, text, policy = turn.draft, turn.text, turn.rt.policy
    field = d.get("field", "company")
    if field not in ("text", "category", "type") and answers.is_question(text):
        turn.say(texts.QUESTION_PARKED_STAFF.format(question=text[:60]))  # not this field's value
        await _ask(turn)
        return
    try:
        if field == "company":
            d["company"] = appeal_svc.validate_company(policy, text)
        elif field == "uscc":
            d["uscc"] = normalize_uscc(text)
        elif field == "contact":
            d["contact"] = appeal_svc.validate_contact(policy, text)
        elif field == "phone":
            d["phone"] = normalize_phone(text)
        elif field == "area":
            try:
                d["area"] = match_unit(await _townships(turn), text).id
            except DomainError:
                raise InvalidInput("area_unknown") from None
        elif field == "text":
            d["text"] = appeal_svc.validate_text(policy, text)
        elif field == "category":
            if text not in turn.rt.tagger.categories:
                raise InvalidInput("category_missing")
            d["category"] = text
        elif field == "type":
            if text not in {t.value for t in AppealType}:
                turn.say(texts.TYPE_UNKNOWN, [Choice(t.value, t.value) for t in AppealType])
                return
            d["type"] = text
    except InvalidInput as err:
        turn.say(refusal(err))
        await _ask(turn)
        return
    await _next(turn)


async def on_confirm(turn: Turn) -> None:
    if turn.text == texts.CONFIRM_CANCEL:
        turn.reset()
        turn.say(texts.CANCELLED)
        return
    if turn.text not in (texts.CONFIRM_SUBMIT, "确认", "提交"):
        turn.say(texts.NOT_AN_OPTION.format(text=turn.text[:20]))
        await _next(turn)
        return
    d = turn.draft
    draft = appeal_svc.FilingDraft(company=d["company"], uscc=d["uscc"], contact=d["contact"], phone=d["phone"],
                                   area_id=d["area"], text=d["text"], categories=[d["category"]],
                                   type=AppealType(d["type"]))
    source = Source(d["source"])
    appeal = await intake.enter_appeal(turn.uow, turn.rt, turn.identity, draft, source)
    turn.reset()
    auto = await dispatcher_cmds.after_submit(turn, appeal)
    turn.say(texts.ENTRY_DONE.format(number=appeal.number, source=texts.SOURCE[source],
                                     auto=texts.ENTRY_AUTO.format(lead=auto.lead.name) if auto else ""),
             appeal_number=appeal.number)


def register(reg: CommandRegistry) -> None:
    reg.command("录入", "/enter", roles=DISPATCHER)(start)
    for step, fn in ((Step.ENTRY_SOURCE, on_source), (Step.ENTRY_FIELD, on_field), (Step.ENTRY_CONFIRM, on_confirm)):
        reg.step(step, fn, texts.ENTRY_WHAT)
