"""评价改进 use cases: rating, 差评 verification and rectification, repeats, grassroots and third-party ratings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.appeal import Action, Actor, Appeal, Status
from bot.domain.errors import Forbidden, InvalidInput
from bot.domain.rating import LEVELS, SOLVED, VERDICT_KINDS, TagSet, is_bad
from bot.services import membership
from bot.services.access import centre_dispatcher_and_appeal, load_appeal, require_role
from bot.services.appeals import actor_of, load_appeal_for
from bot.services.ports import GrassrootsRating, Holding, Identity, Rating, ThirdPartyScore, UnitOfWork
from bot.services.runtime import Runtime

COMMENT_MAX = 300


@lru_cache(maxsize=8)
def _tags(path: str) -> TagSet:
    return TagSet.load(path or None)


def tagset(rt: Runtime) -> TagSet:
    """The configured versioned tag file (cached)."""
    return _tags(rt.policy.evaluation.tags_file)


# ---- 好差评 ----

async def rating_round(uow: UnitOfWork, identity: Identity, number: str) -> tuple[Appeal, int]:
    """The appeal and the round the filing enterprise may rate now; refused for anyone else or twice."""
    if identity.staff is not None:
        raise Forbidden("rate_enterprise_only")
    appeal = await load_appeal_for(uow, identity, number)
    return appeal, await open_round(uow, appeal)


async def open_round(uow: UnitOfWork, appeal: Appeal) -> int:
    """The round the enterprise's rating of this appeal would be; refused when none is open."""
    done = await uow.evaluation.ratings(appeal.id)
    if appeal.status != Status.RESOLVED:
        if done:
            raise InvalidInput("already_rated", number=appeal.number)
        appeal.require(Action.RATE_GOOD)
    rnd = 1 + sum(1 for r in done if r.verdict == "valid")
    if any(r.round == rnd for r in done):
        raise InvalidInput("already_rated", number=appeal.number)
    return rnd


def parse_level(text: str) -> int | None:
    t = text.strip().removesuffix("星").removesuffix("分")
    if t.isdigit() and int(t) in LEVELS:
        return int(t)
    return next((k for k, v in LEVELS.items() if v == t), None)


@dataclass
class Rated:
    appeal: Appeal
    rating: Rating


async def rate(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, level: int, tags: Sequence[str],
               comment: str, solved: str, note: str | None = None) -> Rated:
    """Store the enterprise's rating of this round and move the appeal: 基本满意 or better closes it,
    差评 opens verification for the service centre. Raises before storing anything when invalid."""
    appeal, rnd = await rating_round(uow, identity, number)
    return await store_rating(uow, rt, appeal, rnd, level, tags, comment, solved,
                               note=note, actor=await membership.acting_person(uow, identity, appeal))


async def rate_for_enterprise(uow: UnitOfWork, rt: Runtime, appeal: Appeal, level: int, tags: Sequence[str],
                              comment: str, solved: str, *, actor: Actor) -> Rated:
    """A rating a trusted system collected from the enterprise (a hotline's return call, through an API key
    with the `rate` scope): the key is the authority, so no chat ownership applies; same rounds, same 差评 loop."""
    rnd = await open_round(uow, appeal)
    return await store_rating(uow, rt, appeal, rnd, level, tags, comment, solved, note=comment, actor=actor)


async def store_rating(uow: UnitOfWork, rt: Runtime, appeal: Appeal, rnd: int, level: int, tags: Sequence[str],
                        comment: str, solved: str, *, note: str | None, actor: Actor, source: str | None = None
                        ) -> Rated:
    """The one way a rating is stored, whether the enterprise gave it or staff recorded it on a call-back."""
    if level not in LEVELS:
        raise InvalidInput("rating_level")
    ts = tagset(rt)
    unknown = [t for t in tags if t not in ts.tags(level)]
    if unknown:
        raise InvalidInput("rating_tag", tag=unknown[0])
    if solved not in SOLVED:
        raise InvalidInput("rating_solved")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput("comment_long", max=COMMENT_MAX)
    now = rt.now()
    bad = is_bad(level)
    rating = Rating(appeal.id, rnd, level, list(dict.fromkeys(tags)), ts.version, comment, solved,
                    appeal.enterprise_id, appeal.lead_unit_id, now, bad, source=source)
    if bad:
        rating.verify_due_at = rt.calendar.add_workdays(now, rt.policy.evaluation.verify_days).at
    action = Action.RATE_BAD if bad else Action.RATE_GOOD
    extra = {"source": source} if source else {}
    appeal.apply(action, actor=actor, now=now, note=comment if note is None else note, round=rnd, level=level,
                 level_label=LEVELS[level], tags=rating.tags, solved=solved, tag_version=ts.version, **extra)
    await uow.appeals.save(appeal)
    await uow.evaluation.add_rating(rating)
    return Rated(appeal, rating)


# ---- 差评核实与整改 ----

@dataclass
class Verified:
    appeal: Appeal
    rating: Rating


async def _open_bad(uow: UnitOfWork, appeal: Appeal) -> Rating:
    bad = [r for r in await uow.evaluation.ratings(appeal.id) if r.bad and r.verdict is None]
    if appeal.status != Status.VERIFYING or not bad:
        raise InvalidInput("not_verifying", number=appeal.number)
    return bad[-1]


async def verify(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, valid: bool, note: str,
                 kind: str = "", describe: Callable[[Rating], str] | None = None) -> Verified:
    """核实 a 差评 (centre dispatchers). Valid: rectification by the rated unit with its own deadline;
    invalid (误评/恶意): closed, recorded with the reason and excluded from the KPIs. `describe` words the
    timeline note from the decided rating (the unit and deadline to rectify by, or the kind)."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    rating = await _open_bad(uow, appeal)
    note = note.strip()
    if len(note) < 2:
        raise InvalidInput("verify_note")
    if not valid and kind and kind not in VERDICT_KINDS:
        raise InvalidInput("verify_kind")
    now = rt.now()
    actor = actor_of(identity, staff.name)
    rating.verified_by, rating.verified_at, rating.verdict_note = staff.id, now, note
    if valid:
        unit = rating.unit_id or appeal.lead_unit_id
        if not unit:
            raise InvalidInput("no_unit_to_rectify", number=appeal.number)
        due = rt.calendar.add_workdays(now, rt.policy.evaluation.rectify_days)
        rating.verdict, rating.rectify_unit_id, rating.rectify_due_at = "valid", unit, due.at
        appeal.apply(Action.VERIFY_VALID, actor=actor, now=now, note=describe(rating) if describe else note,
                     unit=unit, round=rating.round, days=rt.policy.evaluation.rectify_days, due_at=due.at.isoformat())
        appeal.lead_unit_id, appeal.due_at = unit, due.at
        appeal.calendar_gap = appeal.calendar_gap or due.calendar_gap
        spell = await uow.handling.add_holding(Holding(
            appeal.id, unit, "lead", now, now, due.at, due.calendar_gap, accepted_at=now, accepted_by=staff.id))
        rating.rectify_holding_id = spell.id
    else:
        rating.verdict, rating.verdict_kind = "invalid", kind or "误评"
        appeal.apply(Action.VERIFY_INVALID, actor=actor, now=now, note=describe(rating) if describe else note,
                     round=rating.round, kind=rating.verdict_kind)
    await uow.appeals.save(appeal)
    await uow.evaluation.save_rating(rating)
    return Verified(appeal, rating)


async def bad_reviews(uow: UnitOfWork, identity: Identity) -> list[tuple[str, Rating]]:
    """差评 awaiting verification or in rectification (centre dispatchers and leaders)."""
    require_role(identity, "dispatcher", "leader", code="evaluation_staff_only")
    return await uow.evaluation.open_bad_reviews()


# ---- 重复投诉 ----

async def decide_repeat(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, confirm: bool,
                        earlier: str | None = None) -> Appeal:
    """The dispatcher confirms a repeat link (or links one by hand), or unlinks it."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    if earlier:
        other = await load_appeal(uow, earlier)
        if other.number == appeal.number:
            raise InvalidInput("repeat_self", number=appeal.number)
        appeal.repeat_of = other.number
    if not appeal.repeat_of:
        raise InvalidInput("repeat_none", number=appeal.number)
    state = "confirmed" if confirm else "unlinked"
    appeal.flags = {**appeal.flags, "repeat": state}
    appeal.apply(Action.LINK_REPEAT, actor=actor_of(identity, staff.name), now=rt.now(), note=appeal.repeat_of,
                 repeat_of=appeal.repeat_of, state=state)
    await uow.appeals.save(appeal)
    return appeal


# ---- 基层评价 and 第三方评价 ----

async def grassroots_rater(uow: UnitOfWork, appeal: Appeal) -> tuple[str, str] | None:
    """Who rates the higher level's service on this appeal, and whom: the unit that escalated it rates the
    task force; otherwise the township of the enterprise rates the lead unit when that is not itself."""
    escalations = [e for e in await uow.appeals.events(appeal.number) if e.action == Action.ESCALATE]
    if escalations:
        e = escalations[-1]
        return str(e.data.get("unit") or ""), str(e.data.get("lead") or appeal.lead_unit_id or "")
    townships = {u.id for u in await uow.directory.units() if u.kind == "township"}
    if appeal.area_id in townships and appeal.lead_unit_id and appeal.lead_unit_id != appeal.area_id:
        return appeal.area_id, appeal.lead_unit_id
    return None


async def grassroots_rate(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, level: int,
                          comment: str) -> tuple[Appeal, GrassrootsRating]:
    """基层评价 (规范 8.1): once the appeal has closed, a handler of the unit that escalated it (or of the
    enterprise's township) rates the higher level's service, once."""
    staff = require_role(identity, "handler", code="handler_only")
    appeal = await load_appeal(uow, number)
    pair = await grassroots_rater(uow, appeal)
    if pair is None or pair[0] != staff.unit_id:
        raise Forbidden("not_escalated_by_unit", number=appeal.number)
    if appeal.status != Status.CLOSED:
        raise InvalidInput("grassroots_not_closed", number=appeal.number)
    if level not in LEVELS:
        raise InvalidInput("rating_level")
    rated_unit = pair[1]
    now = rt.now()
    rating = GrassrootsRating(appeal.id, staff.unit_id, rated_unit, level, comment.strip()[:COMMENT_MAX],
                              staff.id, now)
    if not await uow.evaluation.add_grassroots(rating):
        raise InvalidInput("grassroots_done", number=appeal.number)
    appeal.apply(Action.GRASSROOTS_RATE, actor=actor_of(identity, staff.name), now=now, note=rating.comment,
                 level=level, unit=staff.unit_id, rated=rated_unit)
    await uow.appeals.save(appeal)
    return appeal, rating


@dataclass
class ThirdPartyImport:
    stored: int
    errors: list[tuple[int, str, dict]]  # (line, error code, params)


def third_party_missing_columns(header: Iterable[str]) -> list[str]:
    """Required columns of a third-party scores file that its header lacks (reported before any row is read)."""
    present = set(header)
    return [c for c in ("单位", "期间", "得分") if c not in present]


async def import_third_party(uow: UnitOfWork, rt: Runtime, rows: Sequence[tuple[int, dict[str, str | None]]],
                             parse_period: Callable[[str], str]) -> ThirdPartyImport:
    """Third-party scores per unit and period (CSV columns 单位, 期间, 得分, 来源, 备注). Nothing is stored
    when any row is wrong: the file is fixed and imported again (a re-import replaces)."""
    units = await uow.directory.units()
    by_name = {u.id: u.id for u in units} | {u.name: u.id for u in units}
    for u in units:
        for alias in u.aliases:
            by_name.setdefault(alias, u.id)
    scores, errors = [], []
    for line, row in rows:
        unit_text = (row.get("单位") or row.get("unit") or "").strip()
        period_text = (row.get("期间") or row.get("period") or "").strip()
        score_text = (row.get("得分") or row.get("score") or "").strip()
        source = (row.get("来源") or row.get("source") or "第三方评估").strip()[:64]
        unit = by_name.get(unit_text)
        if unit is None:
            errors.append((line, "tp_unit", {"unit": unit_text}))
            continue
        try:
            period = parse_period(period_text)
        except InvalidInput:
            errors.append((line, "tp_period", {"period": period_text}))
            continue
        try:
            score = float(score_text)
        except ValueError:
            score = -1.0
        if not 0 <= score <= 100:
            errors.append((line, "tp_score", {"score": score_text}))
            continue
        scores.append(ThirdPartyScore(unit, period, source, score, (row.get("备注") or "").strip()[:200]))
    if errors:
        return ThirdPartyImport(0, errors)
    return ThirdPartyImport(await uow.evaluation.put_third_party(scores, rt.now()), [])
