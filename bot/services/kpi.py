"""KPIs and the 企业服务指数 (domain.md §5), computed from a snapshot of stored facts for one period."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import Forbidden, InvalidInput
from bot.domain.rating import level_score
from bot.services import tracked
from bot.services.policy import EvaluationPolicy
from bot.services.ports import (
    Callback,
    GrassrootsRating,
    Identity,
    OrgUnit,
    Rating,
    ThirdPartyScore,
    UnitOfWork,
)
from bot.services.runtime import Runtime

UNASSIGNED = "未分派"


# ---- periods ----

@dataclass(frozen=True)
class Period:
    """[start, end) in local time; `label` is how it is written (2026Q4, 2026-11, 2026W48)."""

    label: str
    start: datetime
    end: datetime
    kind: str  # quarter, month, week

    def __contains__(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    def parts(self) -> list[Period]:
        """Sub-periods for a trend: months of a quarter, weeks of a month; a week has none."""
        tz = self.start.tzinfo
        out: list[Period] = []
        if self.kind == "quarter":
            d = self.start.date()
            for _ in range(3):
                out.append(parse_period(f"{d.year}-{d.month:02d}", tz))  # type: ignore[arg-type]
                d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        elif self.kind == "month":
            d = self.start.date() - timedelta(days=self.start.weekday())
            while datetime(d.year, d.month, d.day, tzinfo=tz) < self.end:
                y, w, _ = d.isocalendar()
                out.append(parse_period(f"{y}W{w:02d}", tz))  # type: ignore[arg-type]
                d += timedelta(days=7)
        return out


def _local(d: date, tz: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=tz)


def parse_period(text: str, tz: ZoneInfo, today: date | None = None) -> Period:
    """2026Q4 | 2026-11 | 2026W48, or 本周 | 本月 | 本季度 | 上月 relative to `today`; InvalidInput otherwise."""
    raw = text.strip().upper().replace("Ｑ", "Q").replace("Ｗ", "W")
    if today is not None:
        if raw in ("本周", "THIS-WEEK"):
            y, w, _ = today.isocalendar()
            raw = f"{y}W{w:02d}"
        elif raw in ("本月", ""):
            raw = f"{today.year}-{today.month:02d}"
        elif raw == "上月":
            prev = today.replace(day=1) - timedelta(days=1)
            raw = f"{prev.year}-{prev.month:02d}"
        elif raw in ("本季度", "本季"):
            raw = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    if m := re.fullmatch(r"(\d{4})Q([1-4])", raw):
        y, q = int(m[1]), int(m[2])
        start = date(y, 3 * q - 2, 1)
        end = date(y + (q == 4), (3 * q) % 12 + 1, 1)
        return Period(f"{y}Q{q}", _local(start, tz), _local(end, tz), "quarter")
    if m := re.fullmatch(r"(\d{4})-?(\d{1,2})", raw):
        y, mo = int(m[1]), int(m[2])
        if 1 <= mo <= 12:
            start = date(y, mo, 1)
            end = date(y + (mo == 12), mo % 12 + 1, 1)
            return Period(f"{y}-{mo:02d}", _local(start, tz), _local(end, tz), "month")
    if m := re.fullmatch(r"(\d{4})-?W(\d{1,2})", raw):
        y, w = int(m[1]), int(m[2])
        try:
            start = date.fromisocalendar(y, w, 1)
        except ValueError:
            raise InvalidInput("period_format", text=text[:20]) from None
        return Period(f"{y}W{w:02d}", _local(start, tz), _local(start + timedelta(days=7), tz), "week")
    raise InvalidInput("period_format", text=text[:20])


# ---- facts ----

@dataclass(frozen=True)
class AppealFact:
    id: int
    number: str
    uscc: str
    enterprise_name: str
    category: str
    level: str
    type: str
    source: str
    status: str
    area_id: str
    lead_unit_id: str | None
    submitted_at: datetime
    resolved_at: datetime | None  # the first 办结
    withdrawn_at: datetime | None
    expired_at: datetime | None  # rating window ran out (未评价)
    closed_at: datetime | None
    repeat_of: str | None
    repeat_state: str  # "", flagged, confirmed, unlinked
    outcome: str | None
    text: str
    resolution: str
    flags: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SpellFact:
    id: int
    appeal_id: int
    unit_id: str
    role: str
    started_at: datetime
    due_at: datetime
    ended_at: datetime | None
    end_reason: str | None


@dataclass
class Snapshot:
    appeals: list[AppealFact]
    spells: list[SpellFact]
    ratings: list[Rating]
    callbacks: list[Callback]
    grassroots: list[GrassrootsRating]
    third_party: list[ThirdPartyScore]
    units: list[OrgUnit]


# ---- figures ----

@dataclass
class Ratio:
    num: int = 0
    den: int = 0

    def add(self, hit: bool) -> None:
        self.den += 1
        self.num += bool(hit)

    @property
    def pct(self) -> float | None:
        return round(100.0 * self.num / self.den, 1) if self.den else None


@dataclass
class Mean:
    total: float = 0.0
    n: int = 0

    def add(self, value: float) -> None:
        self.total += value
        self.n += 1

    @property
    def value(self) -> float | None:
        return round(self.total / self.n, 1) if self.n else None


ENTERPRISE_SOURCE = "企业自评"
RATING_SOURCES = (ENTERPRISE_SOURCE, "电话回访", "现场回访")



@dataclass
class Figures:
    """All indicators of one group (the county, one unit, one category, one level, one sub-period)."""

    label: str
    received: int = 0
    resolved: int = 0
    on_time: Ratio = field(default_factory=Ratio)
    solved: Ratio = field(default_factory=Ratio)
    partly_solved: Ratio = field(default_factory=Ratio)
    satisfaction: Ratio = field(default_factory=Ratio)
    satisfaction_strict: Ratio = field(default_factory=Ratio)
    unrated: Ratio = field(default_factory=Ratio)
    repeat: Ratio = field(default_factory=Ratio)
    rectification: Ratio = field(default_factory=Ratio)
    callback: Ratio = field(default_factory=Ratio)
    grassroots: Mean = field(default_factory=Mean)
    third_party: Mean = field(default_factory=Mean)
    bad_reviews: int = 0
    excluded_invalid: int = 0
    pending_rating: int = 0
    levels: dict[int, int] = field(default_factory=lambda: {5: 0, 4: 0, 3: 0, 2: 0, 1: 0})
    # rated appeals by who gave the rating: the enterprise in chat, or staff on a 电话 / 现场 call-back
    rating_sources: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RATING_SOURCES, 0))
    index: float | None = None

    def components(self) -> dict[str, float | None]:
        """Each index component on a 0–100 scale; None when the group has no data for it."""
        repeat = self.repeat.pct
        return {"satisfaction": self.satisfaction.pct, "solved": self.solved.pct, "on_time": self.on_time.pct,
                "repeat": None if repeat is None else round(100.0 - repeat, 1),
                "rectification": self.rectification.pct, "callback": self.callback.pct,
                "grassroots": self.grassroots.value, "third_party": self.third_party.value}


def service_index(fig: Figures, weights: Iterable[tuple[str, float]]) -> float | None:
    """Σ wᵢ·xᵢ ÷ Σ wᵢ over the components that have data (0–100); None when none has."""
    comps = fig.components()
    used = [(w, comps[k]) for k, w in weights if w > 0 and comps.get(k) is not None]
    total = sum(w for w, _ in used)
    return round(sum(w * v for w, v in used) / total, 1) if total else None  # type: ignore[operator]


@dataclass
class KpiReport:
    period: Period
    generated_at: datetime
    total: Figures
    by_unit: dict[str, Figures]
    by_category: dict[str, Figures]
    by_level: dict[str, Figures]
    by_part: dict[str, Figures]
    weights: tuple[tuple[str, float], ...]
    unit_names: dict[str, str]
    # the rows behind the figures, for the XLSX and the typical cases
    rows: dict[str, list[dict]] = field(default_factory=dict)
    # per entry source: a channel (web, zzd, hotline …) or a client system's source (12345热线 …)
    by_source: dict[str, Figures] = field(default_factory=dict)


# ---- computation ----

class _Groups:
    """Figures for the total and for every dimension value an item falls into."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.total = Figures("全县合计")
        self.dims: dict[str, dict[str, Figures]] = {"unit": {}, "category": {}, "level": {}, "part": {},
                                                    "source": {}}

    def each(self, unit: str | None, category: str, level: str, part: str | None,
             source: str | None = None) -> list[Figures]:
        out = [self.total]
        keys = {"unit": unit or UNASSIGNED, "category": category or "其他", "level": level, "part": part,
                "source": source}
        for dim, key in keys.items():
            if key is None:
                continue
            label = self.names.get(key, key) if dim == "unit" else key
            out.append(self.dims[dim].setdefault(key, Figures(label)))
        return out


@dataclass
class _Tally:
    """One compute(): the snapshot indexed, the figures being counted and the detail rows."""

    snap: Snapshot
    period: Period
    now: datetime
    policy: EvaluationPolicy
    names: dict[str, str]
    g: _Groups
    appeals: dict[int, AppealFact]
    ratings: dict[int, list[Rating]]
    rectify_spells: set[int]
    spells: dict[int, SpellFact]
    rows: dict[str, list[dict]]
    window: timedelta
    parts: list[Period]

    def figs(self, a: AppealFact, unit: str | None, at: datetime | None) -> list[Figures]:
        """The figures an event counts in: total, its unit, category, level, sub-period and entry source."""
        part = next((p.label for p in self.parts if at in p), None)
        return self.g.each(unit, a.category, a.level, part, a.source)


def _received(t: _Tally) -> None:
    """Received and repeats."""
    snap, period, names, rows = t.snap, t.period, t.names, t.rows
    figs = t.figs
    for a in snap.appeals:
        if a.submitted_at not in period or a.flags.get("merged_into"):
            continue
        repeat = bool(a.repeat_of) and a.repeat_state != "unlinked"
        for f in figs(a, a.lead_unit_id, a.submitted_at):
            f.received += 1
            f.repeat.add(repeat)
        rows["received"].append({"number": a.number, "unit": names.get(a.lead_unit_id or "", UNASSIGNED),
                                 "category": a.category, "level": a.level, "source": a.source,
                                 "submitted_at": a.submitted_at,
                                 "status": a.status, "repeat_of": a.repeat_of if repeat else "",
                                 "repeat_state": a.repeat_state if repeat else ""})


def _on_time(t: _Tally) -> None:
    """On time, per lead spell."""
    snap, period, now, names = t.snap, t.period, t.now, t.names
    appeals, rectify_spells, rows, figs = t.appeals, t.rectify_spells, t.rows, t.figs
    for s in snap.spells:
        a = appeals.get(s.appeal_id)
        if a is None or s.role != "lead" or s.id in rectify_spells or s.due_at not in period:
            continue
        done = s.end_reason == "resolved"
        ended = s.ended_at or now
        if not done and ended <= s.due_at:
            continue  # moved on (returned, transferred, escalated, withdrawn) or not yet due: not this unit's
        hit = done and s.ended_at is not None and s.ended_at <= s.due_at
        for f in figs(a, s.unit_id, s.due_at):
            f.on_time.add(hit)
        rows["on_time"].append({"number": a.number, "unit": names.get(s.unit_id, s.unit_id), "category": a.category,
                                "level": a.level, "started_at": s.started_at, "due_at": s.due_at,
                                "ended_at": s.ended_at, "end_reason": s.end_reason or "", "on_time": hit})


def _ratings(t: _Tally) -> None:
    """Ratings of the appeals resolved in the period."""
    snap, period, now, names = t.snap, t.period, t.now, t.names
    ratings, rows, window, figs = t.ratings, t.rows, t.window, t.figs
    for a in snap.appeals:
        if a.resolved_at not in period:
            continue
        mine = ratings.get(a.id, [])
        valid = [r for r in mine if r.verdict != "invalid"]
        first = valid[0] if valid else None
        unit = first.unit_id if first else a.lead_unit_id
        group = figs(a, unit, a.resolved_at)
        for f in group:
            f.resolved += 1
        if mine and not valid:
            for f in group:
                f.excluded_invalid += 1
            rows["ratings"].append(_rating_row(a, mine[0], names, excluded=True))
            continue
        assert a.resolved_at is not None
        rated_in_window = bool(mine) and mine[0].rated_at <= a.resolved_at + window
        window_open = not mine and a.expired_at is None and now < a.resolved_at + window
        if window_open:
            for f in group:
                f.pending_rating += 1
        else:
            for f in group:
                f.unrated.add(not rated_in_window)
        if first is None:
            rows["unrated"].append({"number": a.number, "unit": names.get(unit or "", UNASSIGNED),
                                    "category": a.category, "resolved_at": a.resolved_at,
                                    "state": "待评价" if window_open else "未评价"})
            continue
        for f in group:
            f.solved.add(first.solved == "已解决")
            f.partly_solved.add(first.solved == "部分解决")
            f.satisfaction.add(first.level >= 3)
            f.satisfaction_strict.add(first.level >= 4)
            f.levels[first.level] += 1
            src = first.source or ENTERPRISE_SOURCE
            f.rating_sources[src] = f.rating_sources.get(src, 0) + 1
        rows["ratings"].append(_rating_row(a, first, names, excluded=False))


def _bad_reviews(t: _Tally) -> None:
    """Bad reviews given in the period."""
    snap, period, now, names = t.snap, t.period, t.now, t.names
    appeals, spells, rows, figs = t.appeals, t.spells, t.rows, t.figs
    for r in snap.ratings:
        a = appeals.get(r.appeal_id)
        if a is None or not r.bad or r.rated_at not in period:
            continue
        group = figs(a, r.unit_id, r.rated_at)
        for f in group:
            f.bad_reviews += 1
        spell = spells.get(r.rectify_holding_id or -1)
        done_at = spell.ended_at if spell and spell.end_reason == "resolved" else None
        row = {"number": a.number, "round": r.round, "unit": names.get(r.unit_id or "", ""), "level": r.level,
               "tags": "、".join(r.tags), "comment": r.comment, "rated_at": r.rated_at,
               "verdict": {"valid": "有效", "invalid": "无效"}.get(r.verdict or "", "待核实"),
               "verdict_kind": r.verdict_kind or "", "verdict_note": r.verdict_note or "",
               "rectify_due_at": r.rectify_due_at, "rectified_at": done_at, "counted": False, "on_time": None}
        if r.verdict == "valid" and r.rectify_due_at is not None:
            due_passed = now > r.rectify_due_at
            if done_at is not None or due_passed:
                hit = done_at is not None and done_at <= r.rectify_due_at
                for f in group:
                    f.rectification.add(hit)
                row["counted"], row["on_time"] = True, hit
        rows["bad_reviews"].append(row)


def _callbacks(t: _Tally) -> None:
    """Call-backs done in the period."""
    snap, period, names, appeals = t.snap, t.period, t.names, t.appeals
    rows, figs = t.rows, t.figs
    for c in snap.callbacks:
        a = appeals.get(c.appeal_id)
        if a is None or c.done_at not in period:
            continue
        for f in figs(a, a.lead_unit_id, c.done_at):
            f.callback.add(bool(c.satisfied))
        rows["callbacks"].append({"number": a.number, "unit": names.get(a.lead_unit_id or "", UNASSIGNED),
                                  "reason": c.reason, "method": c.method or "", "result": c.result or "",
                                  "satisfied": bool(c.satisfied), "done_at": c.done_at})


def _grassroots(t: _Tally) -> None:
    """Grassroots ratings of the upper level, by the unit rated."""
    snap, period, names, appeals = t.snap, t.period, t.names, t.appeals
    rows, figs = t.rows, t.figs
    for gr in snap.grassroots:
        a = appeals.get(gr.appeal_id)
        if a is None or gr.rated_at not in period:
            continue
        for f in figs(a, gr.rated_unit_id, gr.rated_at):
            f.grassroots.add(level_score(gr.level))
        rows["grassroots"].append({"number": a.number, "rater": names.get(gr.rater_unit_id, gr.rater_unit_id),
                                   "rated": names.get(gr.rated_unit_id, gr.rated_unit_id), "level": gr.level,
                                   "score": level_score(gr.level), "comment": gr.comment, "rated_at": gr.rated_at})


def _third_party(t: _Tally) -> None:
    """Third-party scores of this period, per unit."""
    snap, period, names, g = t.snap, t.period, t.names, t.g
    rows = t.rows
    for tp in snap.third_party:
        if tp.period != period.label:
            continue
        g.total.third_party.add(tp.score)
        g.dims["unit"].setdefault(tp.unit_id, Figures(names.get(tp.unit_id, tp.unit_id))).third_party.add(tp.score)
        rows["third_party"].append({"unit": names.get(tp.unit_id, tp.unit_id), "period": tp.period,
                                    "source": tp.source, "score": tp.score, "note": tp.note})


def compute(snap: Snapshot, period: Period, now: datetime, policy: EvaluationPolicy) -> KpiReport:
    """Every indicator of domain.md §5 for `period`, in total and per unit, category, level and sub-period.

    Cohorts: 按时办结率 — lead spells (主办任务, rectification excluded) due in the period; 解决率, 满意率,
    未评价率 — appeals first resolved in the period; 重复投诉率 — appeals received in the period (merged
    duplicates excluded); 差评整改率 — valid 差评 given in the period; 回访 — call-backs done in the period.
    Ratings found invalid (误评/恶意) are excluded everywhere.
    """
    names = {u.id: u.name for u in snap.units}
    ratings: dict[int, list[Rating]] = defaultdict(list)
    for r in snap.ratings:
        ratings[r.appeal_id].append(r)
    t = _Tally(snap, period, now, policy, names, _Groups(names), {a.id: a for a in snap.appeals}, ratings,
               {r.rectify_holding_id for r in snap.ratings if r.rectify_holding_id}, {s.id: s for s in snap.spells},
               defaultdict(list), timedelta(days=policy.rating_window_days), period.parts())
    for count in (_received, _on_time, _ratings, _bad_reviews, _callbacks, _grassroots, _third_party):
        count(t)
    g, rows = t.g, t.rows
    every = [g.total, *[f for d in g.dims.values() for f in d.values()]]
    for f in every:
        f.index = service_index(f, policy.index_weights)
    return KpiReport(period, now, g.total, g.dims["unit"], g.dims["category"], g.dims["level"], g.dims["part"],
                     policy.index_weights, names, dict(rows), g.dims["source"])


def _rating_row(a: AppealFact, r: Rating, names: dict[str, str], *, excluded: bool) -> dict:
    return {"number": a.number, "unit": names.get(r.unit_id or "", ""), "category": a.category, "level": a.level,
            "round": r.round, "rating": r.level, "tags": "、".join(r.tags), "tag_version": r.tag_version,
            "comment": r.comment, "solved": r.solved, "source": r.source or ENTERPRISE_SOURCE,
            "rated_at": r.rated_at, "excluded": excluded}


def ranking(report: KpiReport, min_sample: int) -> list[Figures]:
    """Units by index, best first; units with fewer rated appeals than `min_sample` are left out."""
    units = [f for k, f in report.by_unit.items() if k != UNASSIGNED and f.index is not None
             and f.satisfaction.den >= min_sample]
    return sorted(units, key=lambda f: (-(f.index or 0), f.label))


def top(items: Iterable[Figures], key: Callable[[Figures], float], n: int) -> list[Figures]:
    return sorted(items, key=lambda f: (-key(f), f.label))[:n]


async def report_for(uow: UnitOfWork, rt: Runtime, identity: Identity | None, period_text: str) -> KpiReport:
    """统计 / 指数 for leaders and the centre's dispatchers (identity None: the CLI and scheduled reports)."""
    if identity is not None and (identity.staff is None or identity.staff.role not in ("leader", "dispatcher")):
        raise Forbidden("leader_stats_only", role=identity.role)
    now = rt.now()
    period = parse_period(period_text, rt.tz, now.astimezone(rt.tz).date())
    snapshot = await uow.evaluation.snapshot(since=period.start, until=period.end)
    report = compute(snapshot, period, now, rt.policy.evaluation)
    # 为企办实事, 改革任务 and 薄弱环节跟进 of the period, with what was done (规范 8.1/8.2, issue 17 §4–§6)
    report.rows["improvement"] = await tracked.period_rows(uow, period.start, period.end, now)
    return report
