"""Guided filing: text, enterprise profile, township, category, type, summary, confirm."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

from bot import texts
from bot.domain import answers
from bot.domain.appeal import AppealType, Source
from bot.domain.errors import InvalidInput
from bot.domain.identifiers import mask_mobile, normalize_phone, normalize_uscc
from bot.messages import Choice
from bot.services import appeals as svc
from bot.services import directory, membership
from bot.services.ports import OrgUnit
from handlers import dispatcher_cmds
from handlers.render import fmt_date, refusal, unverified_mark
from handlers.steps import FILING_ORDER, Step
from handlers.turn import Turn

CHANNEL_SOURCE = {"dingtalk": Source.DINGTALK, "zzd": Source.ZZD, "telegram": Source.TELEGRAM,
                  "web": Source.WEB, "console": Source.CONSOLE}


class Draft(BaseModel):
    """What the filing dialogue has collected so far; kept in the conversation's data between turns."""

    model_config = ConfigDict(extra="ignore")

    text: str = ""
    hint: str = ""  # a short report (停电了) that the description will start with
    company: str = ""
    uscc: str = ""
    contact: str = ""
    phone: str = ""
    area: str = ""
    category: str = ""
    type: str = ""
    type_words: list[str] = Field(default_factory=list)
    suggestions: list[dict] = Field(default_factory=list)
    attachments: list[dict] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)  # asked mid-filing, passed on with the appeal
    editing: bool = False
    category_unsure: bool = False  # the tagger's best guess is below the confidence threshold


def load(turn: Turn) -> Draft:
    return Draft.model_validate(turn.state.data)


def store(turn: Turn, d: Draft) -> None:
    turn.state.data = d.model_dump()


async def start_filing(turn: Turn, text: str | None = None) -> None:
    """Begin a filing; with `text` the description is already given (free text that reads like a problem).

    A short report (停电了) is kept as the start of the description and the person is asked for more.
    """
    turn.reset()
    d = Draft(attachments=[_attachment(a) for a in turn.msg.attachments])
    known = await membership.prefill(turn.uow, turn.identity)
    if known is not None:
        # The contact comes from this person's own claim, never from a profile someone else wrote.
        profile, claim = known
        d.company, d.uscc, d.area = profile.name, profile.uscc, profile.area_id or ""
        uscc_masked = profile.uscc[:6] + "…" + profile.uscc[-4:]
        if claim is not None and claim.phone:  # cleared by `qihu privacy purge`: the contact is asked for again
            d.contact, d.phone = claim.contact, claim.phone
            turn.say(texts.PROFILE_REUSED.format(company=profile.name, uscc_masked=uscc_masked,
                                                 contact=claim.contact, phone_masked=mask_mobile(claim.phone)))
        elif claim is not None and claim.contact:  # a name but no phone: anonymised by the purge
            turn.say(texts.PROFILE_REUSED_NO_CONTACT.format(company=profile.name, uscc_masked=uscc_masked))
        else:  # verified through the portal, no contact given yet
            turn.say(texts.PROFILE_REUSED_ASK_CONTACT.format(company=profile.name, uscc_masked=uscc_masked))
    if text is not None and len(text.strip()) < turn.rt.policy.text_min_chars and answers.reads_like_problem(text):
        d.hint = text.strip()
    elif text is not None:
        try:
            await _set_text(turn, d, text)
        except InvalidInput as err:
            turn.say(refusal(err))
    store(turn, d)
    await advance(turn)


def _attachment(a) -> dict:  # type: ignore[no-untyped-def]
    return {"kind": a.kind, "ref": a.ref, "name": a.name}


async def _set_text(turn: Turn, d: Draft, raw: str) -> None:
    text = svc.validate_text(turn.rt.policy, raw)
    tagger = turn.rt.tagger
    if tagger.rules.scoring.match == "token" and not tagger.tokenizer.ready:
        await asyncio.to_thread(tagger.tokenizer.load)  # never load the dictionary on the event loop
    suggestions = tagger.suggest(text)
    kind = tagger.classify_type(text)
    d.text, d.hint, d.category = text, "", ""
    d.suggestions = _suggestion_rows(tagger, text, suggestions)
    d.type, d.type_words = kind.label, list(kind.evidence)
    d.category_unsure = bool(suggestions and suggestions[0].probability is not None
                             and suggestions[0].probability < tagger.confidence_threshold)


def _suggestion_rows(tagger, text: str, suggestions: list) -> list[dict]:  # type: ignore[no-untyped-def]
    """Suggestions as stored in the draft; below the confidence threshold the top three, none preferred."""
    rows = [{"label": s.label, "words": list(s.evidence), "p": s.probability} for s in suggestions]
    top = suggestions[0].probability if suggestions else None
    unsure = top is not None and top < tagger.confidence_threshold
    if unsure:  # the enterprise chooses among the three likeliest, even those no keyword fired for
        shown = {r["label"] for r in rows}
        rows += [{"label": c, "words": [], "p": None} for c in tagger.rank(text) if c not in shown][:3 - len(rows)]
    return rows[:3] if unsure else rows


async def advance(turn: Turn) -> None:
    """Ask for the first missing field, or show the summary when everything is there."""
    d = load(turn)
    for field_name, step in FILING_ORDER:
        if not getattr(d, field_name):
            turn.goto(step)
            await prompt(turn)
            return
    d.editing = False
    store(turn, d)
    turn.goto(Step.FILING_CONFIRM)
    await prompt(turn)


async def _townships(turn: Turn) -> list[OrgUnit]:
    return await directory.townships(turn.uow)


def _all_categories(turn: Turn) -> list[Choice]:
    return [Choice(c, c) for c in turn.rt.tagger.categories]


def _confirm_choices() -> list[Choice]:
    return [Choice(texts.CONFIRM_SUBMIT, texts.CONFIRM_SUBMIT), Choice(texts.CONFIRM_EDIT, texts.CONFIRM_EDIT),
            Choice(texts.CONFIRM_CANCEL, texts.CONFIRM_CANCEL)]


# ---- the questions: one per step ----

async def _ask_text(turn: Turn, d: Draft) -> None:
    policy = turn.rt.policy
    if d.hint:
        turn.say(texts.SHORT_PROBLEM.format(text=d.hint[:30]))
        return
    turn.say(texts.ASK_TEXT.format(min=policy.text_min_chars, max=policy.text_max_chars))


def _ask_fixed(question: str) -> Ask:
    async def ask(turn: Turn, d: Draft) -> None:
        turn.say(question)
    return ask


async def _ask_area(turn: Turn, d: Draft) -> None:
    turn.say(texts.ASK_AREA, [Choice(u.name, u.name) for u in await _townships(turn)])


async def _ask_category(turn: Turn, d: Draft) -> None:
    if not d.suggestions:
        turn.goto(Step.FILING_CATEGORY_ALL)
        turn.say(texts.ASK_CATEGORY_NONE, _all_categories(turn))
        return
    choices = [Choice(texts.CATEGORY_EVIDENCE.format(label=s["label"], words="、".join(s["words"][:5]))
                      if s["words"] else s["label"], s["label"]) for s in d.suggestions]
    turn.say(texts.ASK_CATEGORY_UNSURE if d.category_unsure else texts.ASK_CATEGORY,
             [*choices, Choice(texts.CATEGORY_OTHER, texts.CATEGORY_OTHER)])


async def _ask_category_all(turn: Turn, d: Draft) -> None:
    turn.say(texts.ASK_CATEGORY_ALL, _all_categories(turn))


async def _ask_type(turn: Turn, d: Draft) -> None:
    turn.say(texts.ASK_TYPE, [Choice(t.value, t.value) for t in AppealType])


async def _ask_confirm(turn: Turn, d: Draft) -> None:
    turn.say(await summary(turn), _confirm_choices())


async def _ask_edit(turn: Turn, d: Draft) -> None:
    turn.say(texts.ASK_EDIT, [Choice(label, label) for label in texts.EDIT_FIELDS.values()])


async def prompt(turn: Turn) -> None:
    """Say the question of the current step (also used after 返回, 帮助 and a command mid-filing)."""
    if turn.step in STEPS:
        await STEPS[turn.step][0](turn, load(turn))


# The draft field each free-text step fills: after 返回 the person is shown what they wrote there.
_FIELD_OF_STEP = {Step.FILING_TEXT: "text", Step.FILING_COMPANY: "company", Step.FILING_USCC: "uscc",
                  Step.FILING_CONTACT: "contact", Step.FILING_PHONE: "phone"}
_SHOWN_CHARS = 60


async def prompt_after_back(turn: Turn) -> None:
    """返回 to a step already answered: say what was written there, then ask again."""
    field = _FIELD_OF_STEP.get(turn.step)
    value = str(getattr(load(turn), field, "") or "") if field else ""
    if value:
        shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
        turn.say(texts.BACK_SHOWS_ANSWER.format(value=shown))
    await prompt(turn)


async def summary(turn: Turn) -> str:
    d = load(turn)
    areas = {u.id: u.name for u in await _townships(turn)}
    return texts.SUMMARY.format(
        company=d.company, uscc=d.uscc, contact=d.contact, phone=d.phone,
        area=areas.get(d.area, d.area), type=d.type, category=d.category, text=d.text,
        attachments=texts.SUMMARY_ATTACHMENTS.format(n=len(d.attachments)) if d.attachments else "",
    )


# ---- the answers: each returns True when the dialogue moves on to the next missing field ----

async def _take_text(turn: Turn, d: Draft, text: str) -> bool:
    if d.hint and d.hint not in text:
        text = f"{d.hint.rstrip('。.!！')}。{text}"
    await _set_text(turn, d, text)
    return True


async def _take_company(turn: Turn, d: Draft, text: str) -> bool:
    d.company = svc.validate_company(turn.rt.policy, text)
    return True


async def _take_uscc(turn: Turn, d: Draft, text: str) -> bool:
    d.uscc = normalize_uscc(text)
    return True


async def _take_contact(turn: Turn, d: Draft, text: str) -> bool:
    d.contact = svc.validate_contact(turn.rt.policy, text)
    return True


async def _take_phone(turn: Turn, d: Draft, text: str) -> bool:
    d.phone = normalize_phone(text)
    return True


async def _take_area(turn: Turn, d: Draft, text: str) -> bool:
    unit = _match_unit(await _townships(turn), text)
    if unit is None:
        raise InvalidInput("area_unknown")
    d.area = unit.id
    return True


async def _take_category(turn: Turn, d: Draft, text: str) -> bool:
    if text == texts.CATEGORY_OTHER:
        turn.goto(Step.FILING_CATEGORY_ALL)
        await _ask_category_all(turn, d)
        return False
    category = _match_category(turn, text)
    if category is None:
        turn.say(texts.CATEGORY_UNKNOWN.format(text=text[:20]))
        await STEPS[turn.step][0](turn, d)
        return False
    d.category = category
    return True


async def _take_type(turn: Turn, d: Draft, text: str) -> bool:
    if text not in {t.value for t in AppealType}:
        turn.say(texts.TYPE_UNKNOWN, [Choice(t.value, t.value) for t in AppealType])
        return False
    d.type = text
    return True


async def _take_confirm(turn: Turn, d: Draft, text: str) -> bool:
    if text == texts.CONFIRM_SUBMIT or text in ("确认", "提交", "是"):
        await _submit(turn, d)
    elif text == texts.CONFIRM_EDIT or text == "修改":
        turn.goto(Step.FILING_EDIT)
        await _ask_edit(turn, d)
    elif text == texts.CONFIRM_CANCEL:
        turn.reset()
        turn.say(texts.CANCELLED)
    else:
        turn.say(texts.NOT_AN_OPTION.format(text=text[:20]) + texts.ASK_CONFIRM_AGAIN, _confirm_choices())
    return False


async def _take_edit(turn: Turn, d: Draft, text: str) -> bool:
    by_label = {label: name for name, label in texts.EDIT_FIELDS.items()}
    field_name = by_label.get(text)
    if field_name is None:
        turn.say(texts.NOT_AN_OPTION.format(text=text[:20]))
        await _ask_edit(turn, d)
        return False
    d.editing = True
    if field_name == "type":
        store(turn, d)
        turn.goto(Step.FILING_TYPE)
        await _ask_type(turn, d)
        return False
    setattr(d, field_name, "")
    if field_name == "text":
        d.category = ""
    return True


Ask = Callable[[Turn, Draft], Awaitable[None]]
Take = Callable[[Turn, Draft, str], Awaitable[bool]]

STEPS: dict[Step, tuple[Ask, Take]] = {
    Step.FILING_TEXT: (_ask_text, _take_text),
    Step.FILING_COMPANY: (_ask_fixed(texts.ASK_COMPANY), _take_company),
    Step.FILING_USCC: (_ask_fixed(texts.ASK_USCC), _take_uscc),
    Step.FILING_CONTACT: (_ask_fixed(texts.ASK_CONTACT), _take_contact),
    Step.FILING_PHONE: (_ask_fixed(texts.ASK_PHONE), _take_phone),
    Step.FILING_AREA: (_ask_area, _take_area),
    Step.FILING_CATEGORY: (_ask_category, _take_category),
    Step.FILING_CATEGORY_ALL: (_ask_category_all, _take_category),
    Step.FILING_TYPE: (_ask_type, _take_type),
    Step.FILING_CONFIRM: (_ask_confirm, _take_confirm),
    Step.FILING_EDIT: (_ask_edit, _take_edit),
}


def answer_question(turn: Turn, question: str) -> str | None:
    """The answer to a common question asked mid-dialogue, when there is one."""
    limits = turn.rt.policy.time_limits
    for words, answer in texts.FAQ:
        if any(w in question for w in words):
            return answer.format(days=limits.dispatch + limits.signoff + limits.normal)
    return None


async def handle(turn: Turn) -> None:
    """Take the answer to the current filing step."""
    d = load(turn)
    for a in turn.msg.attachments:
        d.attachments.append(_attachment(a))
        turn.say(texts.ATTACHMENT_ADDED.format(name=a.name or a.kind))
    store(turn, d)
    text = turn.text
    if not text:
        return
    step = turn.step
    ask, take = STEPS[step]
    if step != Step.FILING_TEXT and answers.is_question(text):
        # A question is not the answer this step asks for: answer it or keep it, and ask again.
        answer = answer_question(turn, text)
        if answer is None:
            d.questions.append(text[:200])
            answer = texts.QUESTION_PARKED.format(question=text[:60])
        turn.say(answer)
        store(turn, d)
        await ask(turn, d)
        return
    try:
        moves_on = await take(turn, d, text)
    except InvalidInput as err:
        turn.say(refusal(err))
        await ask(turn, d)
        return
    if turn.step == Step.IDLE:  # submitted or cancelled
        return
    store(turn, d)
    if moves_on:
        await advance(turn)


def _match_unit(units: list[OrgUnit], text: str) -> OrgUnit | None:
    for unit in units:
        if text == unit.name or text in unit.aliases:
            return unit
    partial = [u for u in units if text and (text in u.name or u.name in text)]
    return partial[0] if len(partial) == 1 else None


def _match_category(turn: Turn, text: str) -> str | None:
    categories = turn.rt.tagger.categories
    if text in categories:
        return text
    partial = [c for c in categories if text and text in c]
    return partial[0] if len(partial) == 1 else None


async def _submit(turn: Turn, d: Draft) -> None:
    evidence = {s["label"]: s["words"] for s in d.suggestions}
    draft = svc.FilingDraft(
        company=d.company, uscc=d.uscc, contact=d.contact, phone=d.phone, area_id=d.area,
        text=d.text, categories=[d.category], type=AppealType(d.type or AppealType.HELP.value),
        tag_evidence={d.category: evidence.get(d.category, [])}, attachments=d.attachments,
        questions=[texts.QUESTION_NOTE.format(question=q) for q in d.questions],
    )
    appeal = await svc.submit_appeal(turn.uow, turn.rt, turn.identity, draft,
                                     CHANNEL_SOURCE.get(turn.key.channel, Source.WEB))
    limits = turn.rt.policy.time_limits
    days = limits.dispatch + limits.signoff + limits.handling_days(appeal.type, appeal.difficulty, appeal.level)
    turn.reset()
    turn.say(texts.SUBMITTED.format(
        number=appeal.number, category=appeal.category, type=appeal.type.value,
        promised=fmt_date(appeal.promised_at, turn.rt.tz), days=days,
        gap=texts.CALENDAR_GAP if appeal.calendar_gap else "")
        + (texts.FILED_UNVERIFIED if membership.filer_unverified(appeal) else ""), appeal_number=appeal.number)
    areas = {u.id: u.name for u in await _townships(turn)}
    questions = "".join("\n" + texts.QUESTION_NOTE.format(question=q) for q in d.questions)
    note = texts.NEW_APPEAL_FOR_DISPATCHER.format(
        number=appeal.number, company=appeal.enterprise_name, unverified=unverified_mark(appeal),
        area=areas.get(appeal.area_id, ""),
        category=appeal.category, type=appeal.type.value,
        text_short=appeal.text[:80] + ("…" if len(appeal.text) > 80 else "")) + questions
    for key in await directory.dispatcher_keys(turn.uow):
        turn.notify(key, note, appeal.number)
    prompt = await membership.claim_prompt(turn.uow, turn.rt, turn.identity, appeal)
    if prompt is not None:  # (b) the enterprise's verified members may vouch for the claimant
        claim, members = prompt
        ask = texts.CLAIM_PROMPT.format(contact=claim.contact, phone=mask_mobile(claim.phone),
                                        company=appeal.enterprise_name)
        buttons = [Choice(texts.VERIFY_APPROVE, f"核验 {claim.id} 通过"),
                   Choice(texts.VERIFY_REJECT, f"核验 {claim.id} 拒绝")]
        for key in members:
            turn.notify(key, ask, choices=buttons)
    await dispatcher_cmds.after_submit(turn, appeal)
