"""Enterprise-side use cases: register, submit, query, supplement and withdraw appeals."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import answers
from bot.domain.appeal import (
    Action,
    Actor,
    Appeal,
    AppealEvent,
    AppealType,
    Difficulty,
    Level,
    Source,
)
from bot.domain.errors import Forbidden, InvalidInput
from bot.domain.identifiers import normalize_phone, normalize_uscc
from bot.services import membership
from bot.services.access import load_appeal
from bot.services.policy import Policy
from bot.services.ports import Enterprise, Identity, UnitOfWork
from bot.services.repeats import flag_repeat
from bot.services.runtime import Runtime

NUMBER_PATTERN = re.compile(r"[A-Z]{1,6}\d{8}-\d{4}")


@dataclass
class FilingDraft:
    """What the filing dialogue collected; submit_appeal validates it again before storing."""

    company: str
    uscc: str
    contact: str
    phone: str
    area_id: str
    text: str
    categories: list[str]
    type: AppealType
    tag_evidence: dict[str, list[str]] = field(default_factory=dict)
    attachments: list[dict] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)  # asked while filing: recorded as supplements


def validate_company(policy: Policy, raw: str) -> str:
    return answers.company_name(raw, policy.company_max_chars)


def validate_contact(policy: Policy, raw: str) -> str:
    return answers.person_name(raw, policy.contact_max_chars)


def checked_text(raw: str, code: str, rt: Runtime, minimum: int = 2) -> str:
    """A staff member's free text (explanation, reason, opinion): refused with `code` when shorter than
    `minimum`, and with text_long past the policy's limit."""
    text = raw.strip()
    if len(text) < minimum:
        raise InvalidInput(code)
    if len(text) > rt.policy.text_max_chars:
        raise InvalidInput("text_long", max=rt.policy.text_max_chars, length=len(text))
    return text


def validate_text(policy: Policy, raw: str) -> str:
    text = raw.strip()
    if len(text) < policy.text_min_chars:
        raise InvalidInput("text_short", min=policy.text_min_chars, length=len(text))
    if len(text) > policy.text_max_chars:
        raise InvalidInput("text_long", max=policy.text_max_chars, length=len(text))
    return text


def actor_of(identity: Identity, display: str = "") -> Actor:
    if identity.staff:
        return Actor("staff", identity.staff.id, identity.staff.name)
    return Actor("enterprise", str(identity.enterprise_id) if identity.enterprise_id else None, display)


async def submit_appeal(uow: UnitOfWork, rt: Runtime, identity: Identity, draft: FilingDraft,
                        source: Source, *, actor: Actor | None = None, record_filer: bool = True,
                        note: str = "", flags: dict | None = None) -> Appeal:
    """Store a new appeal as 待受理 with its number, promised deadline and first event.

    Staff entering an appeal for an enterprise (录入, imports) pass record_filer=False: the
    enterprise is then not reachable through the entering person's chat identity.
    Raises InvalidInput when any field fails validation (nothing is stored then).
    """
    policy = rt.policy
    now = rt.now()
    uscc = normalize_uscc(draft.uscc)
    phone = normalize_phone(draft.phone)
    company = validate_company(policy, draft.company)
    contact = validate_contact(policy, draft.contact)
    text = validate_text(policy, draft.text)
    units = {u.id: u for u in await uow.directory.units()}
    if draft.area_id not in units or units[draft.area_id].kind != "township":
        raise InvalidInput("area_unknown")
    if not draft.categories:
        raise InvalidInput("category_missing")

    flags = dict(flags or {})  # the API's entry source, plus what this filing adds
    if identity.staff is None and record_filer:
        # The filer's own claim carries their contact details; only a verified member's change the profile.
        enterprise, member = await membership.claim_for_filing(uow, rt, identity, uscc, company, contact, phone,
                                                                draft.area_id)
        if not member.verified:
            flags[membership.UNVERIFIED_FLAG] = True
    else:  # staff entries and imports belong to the enterprise and never rewrite its profile
        enterprise = await uow.enterprises.create_if_missing(
            Enterprise(None, uscc, company, contact, phone, draft.area_id))

    day = now.astimezone(rt.tz).strftime("%Y%m%d")
    number = await uow.appeals.next_number(policy.number_prefix, day)
    # The dispatcher settles difficulty at dispatch (难度 …); until then the rules' hint stands, with
    # its words kept as evidence, so the pool shows it and the promised date allows for it.
    evidence = dict(draft.tag_evidence)
    hint = rt.tagger.classify_difficulty(text)
    difficulty = Difficulty(hint.label) if hint.label in {d.value for d in Difficulty} else Difficulty.NORMAL
    if difficulty != Difficulty.NORMAL:
        evidence[DIFFICULTY_EVIDENCE] = list(hint.evidence)
    level = Level.COUNTY  # set by the lead unit's kind at dispatch
    promised = rt.calendar.add_workdays(now, promised_workdays(policy, draft.type, difficulty, level))
    appeal = Appeal(
        number=number, enterprise_id=enterprise.id, enterprise_name=company, uscc=uscc, contact=contact,
        phone=phone, area_id=draft.area_id, text=text, source=source, type=draft.type,
        categories=list(draft.categories), tag_evidence=evidence, submitted_at=now,
        level=level, difficulty=difficulty, attachments=list(draft.attachments),
        promised_at=promised.at, calendar_gap=promised.calendar_gap,
        filer_channel=identity.key.channel if record_filer else None,
        filer_external_id=identity.key.user_id if record_filer else None, flags=flags,
    )
    appeal.record_submission(actor=actor or actor_of(identity, contact), now=now, note=note)
    appeal = await uow.appeals.add(appeal)
    if draft.questions:  # kept so the staff can answer them; not part of the description
        for question in draft.questions:
            appeal.apply(Action.SUPPLEMENT, actor=actor or actor_of(identity, contact), now=now, note=question)
        await uow.appeals.save(appeal)
    await flag_repeat(uow, rt, appeal)  # issue 6: same USCC + category soon after a closure
    return appeal


def promised_workdays(policy: Policy, type_: AppealType, difficulty: Difficulty, level: Level) -> int:
    """The working days promised at filing: dispatch, sign-off and handling (the one formula)."""
    limits = policy.time_limits
    return limits.dispatch + limits.signoff + limits.handling_days(type_, difficulty, level)


DIFFICULTY_EVIDENCE = "难度"  # tag_evidence key of the words behind a difficulty hint


async def load_appeal_for(uow: UnitOfWork, identity: Identity, number: str) -> Appeal:
    """The appeal if this person may see it; NotFound or Forbidden otherwise."""
    appeal = await load_appeal(uow, number)
    if identity.staff is None and not await membership.may_act_for(uow, identity, appeal):
        raise Forbidden("appeal_not_yours", number=number)
    return appeal


async def appeal_with_timeline(uow: UnitOfWork, identity: Identity, number: str
                               ) -> tuple[Appeal, list[AppealEvent]]:
    appeal = await load_appeal_for(uow, identity, number)
    return appeal, await uow.appeals.events(appeal.number)


async def earlier_due(uow: UnitOfWork, appeal: Appeal) -> datetime | None:
    """The date the enterprise was given before the latest dispatch: the previous dispatch's, else the promise."""
    dispatches = [e for e in await uow.appeals.events(appeal.number) if e.action == Action.DISPATCH]
    before = dispatches[-2].data.get("due_at") if len(dispatches) >= 2 else None
    return datetime.fromisoformat(before) if before else appeal.promised_at


async def own_open_appeals(uow: UnitOfWork, identity: Identity) -> list[Appeal]:
    """Open appeals plus resolved ones awaiting a rating, newest first: those this person filed, and
    those of the enterprises they are a verified member of."""
    if identity.staff is not None:
        return []
    verified = await membership.verified_enterprises(uow, identity)
    return await uow.appeals.list_for_person(identity.key, verified, open_only=True)


async def supplement_appeal(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str,
                            text: str) -> Appeal:
    appeal = await load_appeal_for(uow, identity, number)
    if identity.staff is not None:
        raise Forbidden("supplement_enterprise_only")
    content = text.strip()
    if not content:
        raise InvalidInput("supplement_empty")
    if len(content) > rt.policy.text_max_chars:
        raise InvalidInput("text_long", max=rt.policy.text_max_chars, length=len(content))
    actor = await membership.acting_person(uow, identity, appeal)
    appeal.apply(Action.SUPPLEMENT, actor=actor, now=rt.now(), note=content)
    await uow.appeals.save(appeal)
    return appeal


async def withdraw_appeal(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str,
                          reason: str = "") -> Appeal:
    appeal = await load_appeal_for(uow, identity, number)
    if identity.staff is not None:
        raise Forbidden("withdraw_enterprise_only")
    now = rt.now()
    actor = await membership.acting_person(uow, identity, appeal)
    appeal.apply(Action.WITHDRAW, actor=actor, now=now, note=reason.strip()[:200])
    await uow.appeals.save(appeal)
    for spell in await uow.handling.holdings(appeal.id, open_only=True):  # holder time stops here
        spell.ended_at, spell.end_reason = now, "withdrawn"
        await uow.handling.save_holding(spell)
    return appeal


def is_open_for_supplement(appeal: Appeal) -> bool:
    return appeal.can(Action.SUPPLEMENT)

