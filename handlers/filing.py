"""Guided filing: text, enterprise profile, township, category, type, summary, confirm."""

from __future__ import annotations

import asyncio

from bot.domain.appeal import AppealType, Source
from bot.domain.errors import InvalidInput
from bot.domain.identifiers import mask_mobile, normalize_mobile, normalize_uscc
from bot.messages import Choice
from bot.services import appeals as svc
from bot.services import directory
from bot.services.ports import OrgUnit
from handlers import dispatcher_cmds, texts
from handlers.render import fmt_date, refusal
from handlers.steps import FILING_ORDER, Step
from handlers.turn import Turn

CHANNEL_SOURCE = {"dingtalk": Source.DINGTALK, "zzd": Source.ZZD, "telegram": Source.TELEGRAM,
                  "web": Source.WEB, "console": Source.CONSOLE}


async def start_filing(turn: Turn, text: str | None = None) -> None:
    """Begin a filing; with `text` the description is already given (free text that reads like a problem)."""
    turn.reset()
    turn.state.data = {"attachments": [_attachment(a) for a in turn.msg.attachments]}
    profile = await svc.enterprise_profile(turn.uow, turn.identity)
    if profile is not None:
        turn.draft.update(company=profile.name, uscc=profile.uscc, area=profile.area_id or "")
        uscc_masked = profile.uscc[:6] + "…" + profile.uscc[-4:]
        if profile.phone:  # cleared by `qihu privacy purge`: the contact is asked for again
            turn.draft.update(contact=profile.contact, phone=profile.phone)
            turn.say(texts.PROFILE_REUSED.format(company=profile.name, uscc_masked=uscc_masked,
                                                 contact=profile.contact, phone_masked=mask_mobile(profile.phone)))
        else:
            turn.say(texts.PROFILE_REUSED_NO_CONTACT.format(company=profile.name, uscc_masked=uscc_masked))
    if text is not None:
        try:
            await _set_text(turn, text)
        except InvalidInput as err:
            turn.say(refusal(err))
    await advance(turn)


def _attachment(a) -> dict:  # type: ignore[no-untyped-def]
    return {"kind": a.kind, "ref": a.ref, "name": a.name}


async def _set_text(turn: Turn, raw: str) -> None:
    text = svc.validate_text(turn.rt.policy, raw)
    tagger = turn.rt.tagger
    if tagger.rules.scoring.match == "token" and not tagger.tokenizer.ready:
        await asyncio.to_thread(tagger.tokenizer.load)  # never load the dictionary on the event loop
    suggestions = tagger.suggest(text)
    kind = tagger.classify_type(text)
    turn.draft.update(
        text=text,
        suggestions=_suggestion_rows(tagger, text, suggestions),
        type=kind.label, type_words=list(kind.evidence),
    )
    turn.draft.pop("category", None)
    turn.draft["category_unsure"] = bool(suggestions and suggestions[0].probability is not None
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
    for field_name, step in FILING_ORDER:
        if not turn.draft.get(field_name):
            turn.goto(step)
            await prompt(turn)
            return
    turn.draft.pop("editing", None)
    turn.goto(Step.FILING_CONFIRM)
    await prompt(turn)


async def _townships(turn: Turn) -> list[OrgUnit]:
    return await directory.townships(turn.uow)


async def prompt(turn: Turn) -> None:
    """Say the question of the current step (also used after 返回 and 帮助)."""
    step = turn.step
    policy = turn.rt.policy
    if step == Step.FILING_TEXT:
        turn.say(texts.ASK_TEXT.format(min=policy.text_min_chars, max=policy.text_max_chars))
    elif step == Step.FILING_COMPANY:
        turn.say(texts.ASK_COMPANY)
    elif step == Step.FILING_USCC:
        turn.say(texts.ASK_USCC)
    elif step == Step.FILING_CONTACT:
        turn.say(texts.ASK_CONTACT)
    elif step == Step.FILING_PHONE:
        turn.say(texts.ASK_PHONE)
    elif step == Step.FILING_AREA:
        turn.say(texts.ASK_AREA, [Choice(u.name, u.name) for u in await _townships(turn)])
    elif step == Step.FILING_CATEGORY:
        suggestions = turn.draft.get("suggestions", [])
        if not suggestions:
            turn.goto(Step.FILING_CATEGORY_ALL)
            turn.say(texts.ASK_CATEGORY_NONE, _all_categories(turn))
            return
        choices = [Choice(texts.CATEGORY_EVIDENCE.format(label=s["label"], words="、".join(s["words"][:5]))
                          if s["words"] else s["label"], s["label"]) for s in suggestions]
        unsure = turn.draft.get("category_unsure")
        turn.say(texts.ASK_CATEGORY_UNSURE if unsure else texts.ASK_CATEGORY,
                 [*choices, Choice(texts.CATEGORY_OTHER, texts.CATEGORY_OTHER)])
    elif step == Step.FILING_CATEGORY_ALL:
        turn.say(texts.ASK_CATEGORY_ALL, _all_categories(turn))
    elif step == Step.FILING_TYPE:
        turn.say(texts.ASK_TYPE, [Choice(t.value, t.value) for t in AppealType])
    elif step == Step.FILING_CONFIRM:
        turn.say(await summary(turn), [Choice(texts.CONFIRM_SUBMIT, texts.CONFIRM_SUBMIT),
                                       Choice(texts.CONFIRM_EDIT, texts.CONFIRM_EDIT),
                                       Choice(texts.CONFIRM_CANCEL, texts.CONFIRM_CANCEL)])
    elif step == Step.FILING_EDIT:
        turn.say(texts.ASK_EDIT, [Choice(label, label) for label in texts.EDIT_FIELDS.values()])


def _all_categories(turn: Turn) -> list[Choice]:
    return [Choice(c, c) for c in turn.rt.tagger.categories]


async def summary(turn: Turn) -> str:
    d = turn.draft
    areas = {u.id: u.name for u in await _townships(turn)}
    attachments = d.get("attachments") or []
    return texts.SUMMARY.format(
        company=d["company"], uscc=d["uscc"], contact=d["contact"], phone=d["phone"],
        area=areas.get(d["area"], d["area"]), type=d.get("type", ""), category=d["category"], text=d["text"],
        attachments=texts.SUMMARY_ATTACHMENTS.format(n=len(attachments)) if attachments else "",
    )


async def handle(turn: Turn) -> None:
    """Take the answer to the current filing step."""
    for a in turn.msg.attachments:
        turn.draft.setdefault("attachments", []).append(_attachment(a))
        turn.say(texts.ATTACHMENT_ADDED.format(name=a.name or a.kind))
    text = turn.text
    if not text:
        return
    step = turn.step
    d = turn.draft
    try:
        if step == Step.FILING_TEXT:
            await _set_text(turn, text)
        elif step == Step.FILING_COMPANY:
            d["company"] = svc.validate_company(turn.rt.policy, text)
        elif step == Step.FILING_USCC:
            d["uscc"] = normalize_uscc(text)
        elif step == Step.FILING_CONTACT:
            d["contact"] = svc.validate_contact(turn.rt.policy, text)
        elif step == Step.FILING_PHONE:
            d["phone"] = normalize_mobile(text)
        elif step == Step.FILING_AREA:
            unit = _match_unit(await _townships(turn), text)
            if unit is None:
                raise InvalidInput("area_unknown")
            d["area"] = unit.id
        elif step in (Step.FILING_CATEGORY, Step.FILING_CATEGORY_ALL):
            if text == texts.CATEGORY_OTHER:
                turn.goto(Step.FILING_CATEGORY_ALL)
                await prompt(turn)
                return
            category = _match_category(turn, text)
            if category is None:
                turn.say(texts.CATEGORY_UNKNOWN.format(text=text[:20]))
                await prompt(turn)
                return
            d["category"] = category
        elif step == Step.FILING_TYPE:
            if text not in {t.value for t in AppealType}:
                turn.say(texts.TYPE_UNKNOWN, [Choice(t.value, t.value) for t in AppealType])
                return
            d["type"] = text
        elif step == Step.FILING_CONFIRM:
            await _confirm(turn, text)
            return
        elif step == Step.FILING_EDIT:
            await _edit(turn, text)
            return
    except InvalidInput as err:
        turn.say(refusal(err))
        if step in (Step.FILING_AREA,):
            await prompt(turn)
        return
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


async def _confirm(turn: Turn, text: str) -> None:
    if text == texts.CONFIRM_SUBMIT or text in ("确认", "提交", "是"):
        await _submit(turn)
    elif text == texts.CONFIRM_EDIT or text == "修改":
        turn.goto(Step.FILING_EDIT)
        await prompt(turn)
    elif text == texts.CONFIRM_CANCEL:
        turn.reset()
        turn.say(texts.CANCELLED)
    else:
        turn.say(texts.ASK_CONFIRM_AGAIN, [Choice(texts.CONFIRM_SUBMIT, texts.CONFIRM_SUBMIT),
                                           Choice(texts.CONFIRM_EDIT, texts.CONFIRM_EDIT),
                                           Choice(texts.CONFIRM_CANCEL, texts.CONFIRM_CANCEL)])


async def _edit(turn: Turn, text: str) -> None:
    by_label = {label: name for name, label in texts.EDIT_FIELDS.items()}
    field_name = by_label.get(text)
    if field_name is None:
        await prompt(turn)
        return
    turn.draft["editing"] = True
    if field_name == "type":
        turn.goto(Step.FILING_TYPE)
        await prompt(turn)
        return
    turn.draft.pop(field_name, None)
    if field_name == "text":
        turn.draft.pop("category", None)
    await advance(turn)


async def _submit(turn: Turn) -> None:
    d = turn.draft
    category = d["category"]
    evidence = {s["label"]: s["words"] for s in d.get("suggestions", [])}
    draft = svc.FilingDraft(
        company=d["company"], uscc=d["uscc"], contact=d["contact"], phone=d["phone"], area_id=d["area"],
        text=d["text"], categories=[category], type=AppealType(d.get("type") or AppealType.HELP.value),
        tag_evidence={category: evidence.get(category, [])}, attachments=d.get("attachments", []),
    )
    appeal = await svc.submit_appeal(turn.uow, turn.rt, turn.identity, draft,
                                     CHANNEL_SOURCE.get(turn.key.channel, Source.WEB))
    days = svc.promised_workdays(turn.rt.policy, appeal.type, appeal.difficulty, appeal.level)
    turn.reset()
    turn.say(texts.SUBMITTED.format(
        number=appeal.number, category=appeal.category, type=appeal.type.value,
        promised=fmt_date(appeal.promised_at, turn.rt.tz), days=days,
        gap=texts.CALENDAR_GAP if appeal.calendar_gap else ""), appeal_number=appeal.number)
    areas = {u.id: u.name for u in await _townships(turn)}
    note = texts.NEW_APPEAL_FOR_DISPATCHER.format(
        number=appeal.number, company=appeal.enterprise_name, area=areas.get(appeal.area_id, ""),
        category=appeal.category, type=appeal.type.value,
        text_short=appeal.text[:80] + ("…" if len(appeal.text) > 80 else ""))
    for key in await directory.dispatcher_keys(turn.uow):
        turn.notify(key, note, appeal.number)
    await dispatcher_cmds.after_submit(turn, appeal)
