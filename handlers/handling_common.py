"""Shared pieces of the staff commands: argument parsing, unit names, deadlines, who to tell."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot import texts
from bot.domain.appeal import Appeal
from bot.domain.identifiers import mask_mobile
from bot.messages import Choice
from bot.services import appeals as svc
from bot.services import cases, directory, dispatch, handling, reach
from bot.services.dispatch import Dispatched
from bot.services.handling import open_holdings
from bot.services.ports import OrgUnit
from bot.services.units import AmbiguousUnit
from handlers.render import fmt_date
from handlers.turn import Turn

_SPLIT = re.compile(r"[\s,，、；;]+")


def parse_number(arg: str) -> tuple[str | None, str]:
    """'QH20261125-0007 rest' → (number, rest); no number first → (None, arg)."""
    head, _, rest = arg.strip().partition(" ")
    if svc.NUMBER_PATTERN.fullmatch(head.upper()):
        return head.upper(), rest.strip()
    return None, arg.strip()


Command = Callable[[Turn, str], Awaitable[None]]
# The appeals a command typed without its number may mean: (number, what names it to the person).
# None: the command offers nothing to this person's role (they get the usage alone).
Offer = Callable[[Turn], Awaitable[list[tuple[str, str]] | None]]
MAX_OFFERED = 8
_TRIED_NUMBER = re.compile(r"^(?:[A-Za-z]{1,6}\d*(?:-\d*)?|\d{6,}(?:-\d*)?)(?:\s|$)")  # QH, QH2026…, 20261125-7


class Malformed(Exception):
    """What follows an appeal command's number does not parse: the command answers with its usage."""


async def _offered(turn: Turn, word: str, offer: Offer | None, rest: str, usage: str) -> None:
    """`签收` with no number: the person's appeals this command can act on, as buttons that send the
    whole command (with what they wrote after it); none, or no list for this command: the usage."""
    found = await offer(turn) if offer is not None else None
    if not found:
        turn.say((texts.NOTHING_TO_PICK.format(command=word) + "\n" if found is not None else "") + usage)
        return
    tail = f" {rest}" if rest else ""
    choices = [Choice(f"{number} {label}".strip(), f"{word} {number}{tail}") for number, label in found[:MAX_OFFERED]]
    more = texts.PICK_MORE.format(n=len(found), command=word) if len(found) > MAX_OFFERED else ""
    turn.say(texts.PICK_APPEAL.format(command=word) + more, choices)


def appeal_command(usage: str, *, word: str = "", offer: Offer | None = None
                   ) -> Callable[[Callable[[Turn, str, str], Awaitable[None]]], Command]:
    """A staff command `名 编号 …`, given (turn, number, rest): without a number the person is offered
    their appeals it can act on (`offer`, buttons that re-send `word 编号 …`), else gets `usage`; when
    it raises Malformed before calling its service, `usage`. Nothing is stored either way."""
    def wrap(fn: Callable[[Turn, str, str], Awaitable[None]]) -> Command:
        @functools.wraps(fn)
        async def command(turn: Turn, arg: str) -> None:
            number, rest = parse_number(arg)
            if number is None:
                if word and not _TRIED_NUMBER.match(rest):  # `分派 QH 供电`: a number mistyped, say the form
                    await _offered(turn, word, offer, rest, usage)
                else:
                    turn.say(usage)
                return
            try:
                await fn(turn, number, rest)
            except Malformed:
                turn.say(usage)
        return command
    return wrap


def words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text) if w]


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DAYS = re.compile(r"^(\d+|[零一二两三四五六七八九十]+)\s*(个工作日|工作日|个?星期|周|天|日)?\s*(.*)$", re.S)
WORKDAYS_A_WEEK = 5


def _cn_number(text: str) -> int | None:
    """一 … 九十九 (十五, 二十, 两) as an int; None for anything else."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _CN_DIGITS.get(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    t = _CN_DIGITS.get(tens, -1) if tens else 1
    o = _CN_DIGITS.get(ones, -1) if ones else 0
    return t * 10 + o if t > 0 and o >= 0 and "十" not in ones else None


def parse_days(text: str) -> tuple[int, str] | None:
    """Working days at the start of `text` and what follows: `5`, `５天`, `五天`, `十个工作日`, `一周`
    (= 5 working days), `两周`; None when it does not start with a count."""
    m = _DAYS.match(unicodedata.normalize("NFKC", text.strip()))
    if m is None:
        return None
    n = _cn_number(m.group(1))
    if not n:
        return None
    unit = m.group(2) or ""
    if "周" in unit or "星期" in unit:
        n *= WORKDAYS_A_WEEK
    return n, m.group(3).strip()


async def unit_holds(turn: Turn) -> list[tuple[str, str]] | None:
    """A handler's offer: what their unit holds now, earliest deadline first."""
    if turn.identity.role != "handler":
        return None
    return [(a.number, short(a.enterprise_name, 12)) for a, _ in await handling.todo(turn.uow, turn.identity)]


async def to_sign_off(turn: Turn) -> list[tuple[str, str]] | None:
    """签收's offer: what the handler's unit has not signed for yet."""
    if turn.identity.role != "handler":
        return None
    return [(a.number, short(a.enterprise_name, 12)) for a, h in await handling.todo(turn.uow, turn.identity)
            if h.accepted_at is None]


async def in_the_pool(turn: Turn) -> list[tuple[str, str]] | None:
    """A dispatcher's offer for 分派 / 不予受理 / 详情: the appeals waiting to be dispatched."""
    if turn.identity.role != "dispatcher":
        return None
    return [(e.appeal.number, short(e.appeal.enterprise_name, 12))
            for e in await dispatch.pool(turn.uow, turn.rt, turn.identity)]


async def asking_extension(turn: Turn) -> list[tuple[str, str]] | None:
    """批准延期 / 驳回延期's offer: the appeals whose extension request waits for a decision."""
    if turn.identity.role != "dispatcher":
        return None
    return [(number, texts.EXT_PICK_LABEL.format(days=r.days))
            for number, r in await dispatch.pending_extensions(turn.uow, turn.identity)]


async def unit_names(turn: Turn) -> dict[str, str]:
    return await directory.unit_names(turn.uow)


def due_text(turn: Turn, at: datetime | None) -> str:
    return fmt_date(at, turn.rt.tz)


def gap(flag: bool) -> str:
    return texts.GAP_MARK if flag else ""


def co_text(names: list[str]) -> str:
    return texts.CO_LIST.format(names="、".join(names)) if names else ""


def rating_choices(number: str) -> list[Choice]:
    """The five levels as one-tap `评价 编号 等级` commands, each naming its level in words (never a digit)."""
    return [Choice(label, f"评价 {number} {label}") for _, label in texts.RATING_LEVELS]


def accept_choice(number: str) -> list[Choice]:
    """The one tap a newly assigned handler needs."""
    return [Choice(f"签收 {number}", f"签收 {number}")]


def tell_enterprise(turn: Turn, appeal: Appeal, text: str, choices: list[Choice] | None = None) -> None:
    key = directory.enterprise_key(appeal)
    if key is not None:
        turn.notify(key, text, appeal.number, choices)


async def tell_unit(turn: Turn, unit_id: str | None, text: str, number: str,
                    choices: list[Choice] | None = None) -> None:
    if not unit_id:
        return
    for key in await directory.unit_keys(turn.uow, unit_id):
        if key != turn.key:
            turn.notify(key, text, number, choices)


async def tell_assigned(turn: Turn, unit: OrgUnit | None, text: str, number: str,
                        choices: list[Choice] | None = None) -> list[str]:
    """A new task for a unit's handlers, told at once wherever each can be reached. For a handler no
    enabled channel reaches yet the notice is held for them (delivered when they bind or the org
    directory finds them); returns the warnings for the dispatcher: who cannot be told, and what to do."""
    if unit is None:
        return []
    members = await reach.unit_members(turn.uow, turn.rt, unit.id)
    if not members:
        return [texts.UNIT_NO_HANDLER.format(unit=unit.name)]
    warnings = []
    for m in members:
        for key in m.keys:
            if key != turn.key:
                turn.notify(key, text, number, choices)
        if m.reached:
            continue
        turn.notify(reach.held_key(m.staff), text, number, choices)
        if not m.looking:
            warnings.append(texts.STAFF_UNREACHED.format(name=m.staff.name, unit=unit.name, id=m.staff.id))
    return warnings


def with_warnings(text: str, warnings: list[str]) -> str:
    return "\n".join([text, *warnings])


async def tell_dispatchers(turn: Turn, text: str, number: str) -> None:
    for key in await directory.dispatcher_keys(turn.uow):
        if key != turn.key:
            turn.notify(key, text, number)


def ask_unit(turn: Turn, err: AmbiguousUnit, command_text: str) -> None:
    """Ask back which unit was meant; each choice re-sends the command with the full name."""
    ambiguous = str(err.params["text"])
    choices = [Choice(name, command_text.replace(ambiguous, name, 1)) for name in err.params["candidates"]]
    turn.say(texts.ERRORS["unit_ambiguous"].format(text=ambiguous), choices)


def short(text: str, n: int = 80) -> str:
    return text[:n] + ("…" if len(text) > n else "")


def case_why(m: cases.CaseMatch) -> str:
    """Why a typical case was found: the same category, the words both texts use."""
    why = [texts.CASE_SAME_CATEGORY.format(category=m.case.category)] if m.same_category else []
    why += [texts.CASE_SHARED_WORDS.format(words="、".join(m.shared))] if m.shared else []
    return "，".join(why)


def case_offer(matches: list[cases.CaseMatch]) -> str:
    """The short block under a new assignment: up to three typical cases, their methods and why each is alike."""
    if not matches:
        return ""
    lines = [texts.CASE_OFFER_HEAD] + [
        texts.CASE_OFFER_LINE.format(number=m.case.appeal_number, category=m.case.category,
                                     method=short(m.case.method, 60), why=case_why(m)) for m in matches]
    return "\n" + "\n".join(lines)


async def announce_dispatch(turn: Turn, result: Dispatched, enterprise_text: str = texts.ENT_DISPATCHED) -> list[str]:
    """Tell the lead unit, the co-units and the enterprise who handles the appeal and by when; returns
    the warnings for the dispatcher about handlers who could not be told (tell_assigned)."""
    a = result.appeal
    names = await unit_names(turn)
    co = co_text([u.name for u in result.co])
    due, mark = due_text(turn, result.due.at), gap(result.due.calendar_gap)
    spells = await open_holdings(turn.uow, a)
    lead_spell = next(h for h in spells if h.role == "lead")
    offered = case_offer(await cases.offered_for(turn.uow, turn.rt, a))  # 规范 8.2: judged cases reach handlers
    warnings = await tell_assigned(turn, result.lead, texts.STAFF_NEW_TASK.format(
        number=a.number, company=a.enterprise_name, area=names.get(a.area_id, ""), category=a.category,
        type=a.type.value, text_short=short(a.text), lead=result.lead.name, co=co,
        signoff=due_text(turn, lead_spell.signoff_due_at), due=due, gap=mark) + offered, a.number,
        accept_choice(a.number))
    co_units = {u.id: u for u in result.co}
    for spell in spells:
        if spell.role == "co" and spell.started_at == turn.now:
            warnings += await tell_assigned(turn, co_units.get(spell.unit_id), texts.STAFF_CO_TASK.format(
                number=a.number, company=a.enterprise_name, text_short=short(a.text), lead=result.lead.name,
                due=due_text(turn, spell.due_at)), a.number, accept_choice(a.number))
    told = enterprise_text.format(number=a.number, lead=result.lead.name, co=co, due=due, gap=mark)
    tell_enterprise(turn, a, told + await _date_change(turn, result))
    return warnings


async def _date_change(turn: Turn, result: Dispatched) -> str:
    """When the date now given differs from the one the enterprise was told before: both, and why."""
    a, tz = result.appeal, turn.rt.tz
    before = await svc.earlier_due(turn.uow, a)
    if before is None or fmt_date(before, tz) == fmt_date(result.due.at, tz):
        return ""
    limits = turn.rt.policy.time_limits
    start = fmt_date(turn.now, tz)
    if result.days != limits.handling_days(a.type, a.difficulty, a.level):
        why = texts.DATE_WHY_SET.format(days=result.days, start=start)
    else:
        why = texts.DATE_WHY_RULE.format(difficulty=a.difficulty.value, type=a.type.value, level=a.level.value,
                                         days=result.days, start=start)
    return texts.DATE_CHANGED.format(old=fmt_date(before, tz), new=fmt_date(result.due.at, tz), why=why)


def phone_for(appeal: Appeal, full: bool) -> str:
    return appeal.phone if full else mask_mobile(appeal.phone)


async def staff_offer(turn: Turn) -> list[tuple[str, str]] | None:
    """详情's offer: a handler's unit's appeals, a dispatcher's pool; nothing listed for a leader."""
    return await unit_holds(turn) if turn.identity.role == "handler" else await in_the_pool(turn)
