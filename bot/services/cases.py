"""典型服务判例 (规范 8.2) and the quarter's positive and negative cases for publication (规范 8.1)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.appeal import Action, Appeal, Status
from bot.domain.errors import InvalidInput, NotFound
from bot.services.access import require_role
from bot.services.kpi import KpiReport, Period, parse_period, report_for
from bot.services.ports import Identity, PublishedCase, TypicalCase, UnitOfWork
from bot.services.runtime import Runtime
from nlp.similarity import GENERIC, fingerprint, similarity

METHOD_MIN_CHARS = 6  # a method is a sentence someone else can follow, not "已解决"
METHOD_MAX_CHARS = 500
LIST_MAX = 10
OFFER_MAX = 3  # cases offered with a new assignment: the notice must stay short on a phone
OFFER_THRESHOLD = 0.2  # text similarity alone; a shared category lowers the bar (see similar_cases)
SAME_CATEGORY_BONUS = 0.1
SEARCH_THRESHOLD = 0.15
CASES_PER_KIND = 5  # positive and negative candidates per quarter


# ---- the library ----

async def mark(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, method: str) -> TypicalCase:
    """判例 编号 做法: a dispatcher or leader adds a closed appeal to the library (again: replaces the method)."""
    staff = require_role(identity, "dispatcher", "leader", code="case_mark_roles")
    method = " ".join(method.split())
    if len(method) < METHOD_MIN_CHARS:
        raise InvalidInput("case_method_short", min=METHOD_MIN_CHARS)
    if len(method) > METHOD_MAX_CHARS:
        raise InvalidInput("case_method_long", max=METHOD_MAX_CHARS)
    appeal = await uow.appeals.get(number.upper())
    if appeal is None:
        raise NotFound("appeal_not_found", number=number)
    if appeal.status != Status.CLOSED:
        raise InvalidInput("case_not_closed", number=appeal.number, status=appeal.status.value)
    assert appeal.id is not None
    resolved_at = next((e.at for e in await uow.appeals.events(appeal.number) if e.action == Action.RESOLVE), None)
    workdays = rt.calendar.workdays_between(appeal.submitted_at, resolved_at) if resolved_at else None
    valid = [r for r in await uow.evaluation.ratings(appeal.id) if r.verdict != "invalid"]
    units = list(dict.fromkeys(u for u in [appeal.lead_unit_id, *appeal.co_unit_ids] if u))
    case = TypicalCase(appeal.id, appeal.number, appeal.category, appeal.text, units, workdays,
                       valid[-1].level if valid else None, method, staff.id, rt.now())
    return await uow.cases.put(case)


def _require_staff(identity: Identity) -> None:
    require_role(identity, "handler", "dispatcher", "leader", "admin", code="case_staff_only")


async def recent(uow: UnitOfWork, identity: Identity, limit: int = LIST_MAX) -> list[TypicalCase]:
    """判例: the latest cases, for any staff member."""
    _require_staff(identity)
    return await uow.cases.recent(limit)


@dataclass(frozen=True)
class CaseMatch:
    """A case and why it was found: the words it shares with the text, and whether the category is the same."""

    case: TypicalCase
    score: float
    shared: tuple[str, ...]
    same_category: bool


def shared_words(rt: Runtime, text: str, other: str, limit: int = 3) -> tuple[str, ...]:
    """Words of `text` (jieba, our dictionary) that `other` contains too, longest first: the reason shown."""
    words = [w for w in dict.fromkeys(rt.tagger.tokenizer.tokens(text))
             if len(w) >= 2 and w not in GENERIC and not w.isdigit() and w in other]
    return tuple(sorted(words, key=lambda w: -len(w))[:limit])


# A case's fingerprint and its set of meaningful bigrams, kept per (id, marked_at): every assignment
# compares the new appeal with the whole library (benchmarks/cases_bench.py).
_FINGERPRINTS: dict[tuple[int | None, datetime], tuple[Counter[str], frozenset[str]]] = {}
_FINGERPRINTS_MAX = 20000
MIN_SHARED_GRAMS = 2  # fewer meaningful bigrams in common than this cannot reach OFFER_THRESHOLD in practice


def _meaningful(fp: Counter[str]) -> frozenset[str]:
    return frozenset(g for g in fp if g not in GENERIC)


def case_fingerprint(case: TypicalCase) -> tuple[Counter[str], frozenset[str]]:
    key = (case.id, case.marked_at)
    found = _FINGERPRINTS.get(key)
    if found is None:
        if len(_FINGERPRINTS) >= _FINGERPRINTS_MAX:
            _FINGERPRINTS.clear()
        fp = fingerprint(case.text)
        found = _FINGERPRINTS[key] = (fp, _meaningful(fp))
    return found


def similar_cases(rt: Runtime, text: str, category: str, cases: list[TypicalCase], *, exclude: str = "",
                  limit: int = OFFER_MAX) -> list[CaseMatch]:
    """The cases most like an appeal (nlp.similarity's bigram overlap, plus a little for the same
    category), each with the shared words that explain it; a case with no shared word is not offered.
    A set intersection first skips the cases with almost no bigram in common, most of a large library."""
    fp = fingerprint(text)
    grams = _meaningful(fp)
    out = []
    for case in cases:
        if case.appeal_number == exclude:
            continue
        case_fp, case_grams = case_fingerprint(case)
        if len(grams & case_grams) < MIN_SHARED_GRAMS:
            continue
        same = bool(category) and case.category == category
        score = similarity(fp, case_fp) + (SAME_CATEGORY_BONUS if same else 0.0)
        if score < OFFER_THRESHOLD:
            continue
        shared = shared_words(rt, text, case.text)
        if shared:
            out.append(CaseMatch(case, round(score, 3), shared, same))
    return sorted(out, key=lambda m: (-m.score, m.case.appeal_number))[:limit]


async def offered_for(uow: UnitOfWork, rt: Runtime, appeal: Appeal) -> list[CaseMatch]:
    """Up to three typical cases to put in the notice of a newly assigned appeal."""
    return similar_cases(rt, appeal.text, appeal.category, await uow.cases.all(), exclude=appeal.number)


async def search(uow: UnitOfWork, rt: Runtime, identity: Identity, query: str,
                 limit: int = LIST_MAX) -> list[CaseMatch]:
    """判例 关键词: cases whose category, text or method contain a word of the query, the most alike first."""
    _require_staff(identity)
    query = " ".join(query.split())
    words = [w for w in dict.fromkeys(rt.tagger.tokenizer.tokens(query)) if w.strip() and w not in GENERIC]
    words = [w for w in words if len(w) >= 2] or [query]
    fp = fingerprint(query)
    out = []
    for case in await uow.cases.all():
        haystack = f"{case.category} {case.text} {case.method}"
        hits = tuple(w for w in words if w in haystack)
        if not hits:
            continue
        score = len(hits) + similarity(fp, fingerprint(haystack))
        out.append(CaseMatch(case, round(score, 3), hits, case.category in words))
    return sorted(out, key=lambda m: (-m.score, -(m.case.id or 0)))[:limit]


async def export_rows(uow: UnitOfWork) -> list[TypicalCase]:
    """Every case, oldest first: `qihu cases export` (the CLI is trusted: no identity)."""
    return await uow.cases.all()


# ---- the quarter's positive and negative cases (规范 8.1: 每季度正反面服务典型，通报曝光) ----

def candidates(k: KpiReport) -> tuple[list[dict], list[dict]]:
    """Positive: 非常满意 with a comment on an appeal resolved in the period (the service was given then,
    even if the rating came a few days after); negative: 差评 given in the period and verified 有效.
    Both only from the period (issue 15, item 13): the KPI rows are already cut to it."""
    positive = [r for r in k.rows.get("ratings", []) if not r["excluded"] and r["rating"] == 5
                and r["comment"]][:CASES_PER_KIND]
    negative = [r for r in k.rows.get("bad_reviews", []) if r["verdict"] == "有效"
                and r["rated_at"] in k.period][:CASES_PER_KIND]
    return positive, negative


def default_quarter(rt: Runtime) -> str:
    """The last quarter that has ended: the one whose report has just arrived."""
    today = rt.now().astimezone(rt.tz).date()
    q = (today.month - 1) // 3  # the current quarter's index − 1: the previous one, 0 = Q4 of last year
    return f"{today.year}Q{q}" if q else f"{today.year - 1}Q4"


@dataclass
class Showcase:
    period: Period
    positive: list[dict]
    negative: list[dict]
    published: dict[str, PublishedCase] = field(default_factory=dict)  # by appeal number
    approvers: dict[str, str] = field(default_factory=dict)  # staff id → name


async def approver_names(uow: UnitOfWork, published: dict[str, PublishedCase]) -> dict[str, str]:
    out = {}
    for staff_id in {p.approved_by for p in published.values()}:
        s = await uow.directory.staff(staff_id)
        out[staff_id] = s.name if s else staff_id
    return out


async def showcase(uow: UnitOfWork, rt: Runtime, identity: Identity, period_text: str = "") -> Showcase:
    """典型 [2026Q4]: the quarter's candidates and which of them are published (leaders and dispatchers)."""
    text = period_text.strip() or default_quarter(rt)
    period = parse_period(text, rt.tz, rt.now().astimezone(rt.tz).date())
    if period.kind != "quarter":
        raise InvalidInput("showcase_quarter", text=text[:20])
    k = await report_for(uow, rt, identity, period.label)
    positive, negative = candidates(k)
    published = {p.appeal_number: p for p in await uow.cases.published(period.label)}
    return Showcase(period, positive, negative, published, await approver_names(uow, published))


async def publish(uow: UnitOfWork, rt: Runtime, identity: Identity, period_text: str,
                  numbers: list[str]) -> tuple[Showcase, list[PublishedCase]]:
    """典型 发布 [2026Q4] 编号…: a leader approves candidates of the quarter; returns the newly published."""
    staff = require_role(identity, "leader", code="showcase_leader_only")
    if not numbers:
        raise InvalidInput("showcase_numbers_missing")
    show = await showcase(uow, rt, identity, period_text)
    kinds = {r["number"]: "positive" for r in show.positive} | {r["number"]: "negative" for r in show.negative}
    unknown = [n for n in numbers if n.upper() not in kinds]
    if unknown:
        raise InvalidInput("showcase_not_candidate", numbers="、".join(unknown), period=show.period.label)
    now = rt.now()
    new = [PublishedCase(show.period.label, n.upper(), kinds[n.upper()], staff.id, now)
           for n in dict.fromkeys(numbers) if n.upper() not in show.published]
    await uow.cases.publish(new)
    show.published.update({p.appeal_number: p for p in new})
    show.approvers[staff.id] = staff.name
    return show, new


# ---- in the report ----

@dataclass
class ReportCases:
    """What the report shows of the library and the publication: cases marked in the period, and
    the period's published positive / negative cases with who approved them."""

    marked: list[TypicalCase] = field(default_factory=list)
    published: dict[str, PublishedCase] = field(default_factory=dict)
    approvers: dict[str, str] = field(default_factory=dict)  # staff id → name


async def for_report(uow: UnitOfWork, period: Period) -> ReportCases:
    marked = await uow.cases.all(since=period.start, until=period.end)
    published = {p.appeal_number: p for p in await uow.cases.published(period.label)}
    return ReportCases(marked, published, await approver_names(uow, published))


async def report_with_cases(uow: UnitOfWork, rt: Runtime, period_text: str) -> tuple[KpiReport, ReportCases]:
    """The KPI report of a period and its cases, for the report renderers (no identity: trusted callers)."""
    k = await report_for(uow, rt, None, period_text)
    return k, await for_report(uow, k.period)

