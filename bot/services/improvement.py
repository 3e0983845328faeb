"""Tracked improvement items (规范 8.1/8.2): 为企办实事 with expert review, 改革任务, 薄弱环节跟进 — one model."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.domain.errors import Forbidden, InvalidInput, NotFound
from bot.services import kpi
from bot.services.access import require_role
from bot.services.appeals import NUMBER_PATTERN, checked_text
from bot.services.ports import Identity, ImprovementEntry, ImprovementItem, Staff, UnitOfWork
from bot.services.reminders import slot_of
from bot.services.runtime import Runtime
from bot.services.scheduling import SweepContext, SweepRegistry
from bot.services.units import match_unit

SHISHI, REFORM, FOLLOWUP = "shishi", "reform", "followup"
OPEN_STATES = ("candidate", "reviewing", "approved", "assigned")
VOTES = ("同意", "不同意", "意见")
UNSOLVABLE = "现行机制无法解决"  # the mark a handler adds to 办结 (规范 8.2: 改革任务清单)

# The report's thresholds (its 改革任务清单 paragraph): below / above them a category or unit is a finding.
SATISFACTION_MIN, ON_TIME_MIN, REPEAT_MAX = 85.0, 85.0, 10.0
CANDIDATE_MIN = 2  # a category named by fewer appeals in the period is not "frequent"


# ---- what the report finds (also used by bot.reports.content) ----

@dataclass(frozen=True)
class Candidate:
    """A 为企办实事 candidate from the report: a frequent category, with its repeat complaints."""

    category: str
    count: int
    share: float  # % of the period's appeals
    repeats: int


@dataclass(frozen=True)
class Finding:
    """A category (改革) or a unit (薄弱环节) whose indicators cross the thresholds; reasons as (name, pct)."""

    key: str  # category name, or unit id
    label: str
    reasons: tuple[tuple[str, float], ...]


def report_candidates(k: kpi.KpiReport, n: int = 5) -> list[Candidate]:
    """The period's most frequent categories, with the repeat complaints among them."""
    received = k.rows.get("received", [])
    counts = Counter(r["category"] for r in received)
    total = sum(counts.values()) or 1
    return [Candidate(cat, c, round(100.0 * c / total, 1),
                      sum(1 for r in received if r["category"] == cat and r["repeat_of"]))
            for cat, c in counts.most_common(n)]


def _reasons(f: kpi.Figures, min_sample: int) -> tuple[tuple[str, float], ...]:
    out = []
    if f.satisfaction.den >= min_sample and (f.satisfaction.pct or 0) < SATISFACTION_MIN:
        out.append(("satisfaction", f.satisfaction.pct or 0.0))
    if f.repeat.den >= min_sample and (f.repeat.pct or 0) > REPEAT_MAX:
        out.append(("repeat", f.repeat.pct or 0.0))
    if f.on_time.den >= min_sample and (f.on_time.pct or 0) < ON_TIME_MIN:
        out.append(("on_time", f.on_time.pct or 0.0))
    return tuple(out)


def threshold_findings(k: kpi.KpiReport, min_sample: int) -> list[Finding]:
    """Categories whose satisfaction, repeat or on-time figures cross the thresholds: reform candidates."""
    return [Finding(cat, cat, r) for cat, f in sorted(k.by_category.items()) if (r := _reasons(f, min_sample))]


def weak_spots(k: kpi.KpiReport, min_sample: int) -> list[Finding]:
    """Units the index finds weak (薄弱环节): indicators across the thresholds, or last in the ranking."""
    ranked = kpi.ranking(k, min_sample)
    bottom = {f.label for f in ranked[-3:]} if len(ranked) > 3 else set()
    out = []
    for unit, f in sorted(k.by_unit.items(), key=lambda kv: kv[1].label):
        if unit == kpi.UNASSIGNED:
            continue
        reasons = list(_reasons(f, min_sample))
        if f.label in bottom:
            reasons.append(("ranking", f.index or 0.0))
        if reasons:
            out.append(Finding(unit, f.label, tuple(reasons)))
    return out


# ---- who may do what ----

def require_staff(identity: Identity) -> Staff:
    return require_role(identity, "handler", "dispatcher", "leader", "admin", code="improvement_staff_only")


def require_oversight(identity: Identity) -> Staff:
    return require_role(identity, "dispatcher", "leader", code="improvement_oversight_only")


def require_leader(identity: Identity, kind: str) -> Staff:
    return require_role(identity, "leader", code=f"improvement_leader_only_{kind}")


def require_reviewer(rt: Runtime, identity: Identity) -> Staff:
    if identity.staff is None or identity.staff.id not in rt.policy.improvement.reviewers:
        raise Forbidden("improvement_reviewer_only", role=identity.role)
    return identity.staff


def require_carrier(identity: Identity, item: ImprovementItem) -> Staff:
    """Progress and closure: the owner unit's handlers, the centre's dispatchers and the leaders."""
    staff = require_staff(identity)
    if staff.role in ("dispatcher", "leader") or (staff.role == "handler" and staff.unit_id == item.owner_unit_id):
        return staff
    raise Forbidden("improvement_not_owner", kind=item.kind, seq=item.seq)


# ---- reading ----

async def load(uow: UnitOfWork, kind: str, seq_text: str) -> ImprovementItem:
    seq_text = seq_text.strip().lstrip("#＃")
    if not seq_text.isdigit() or len(seq_text) > 9:
        raise InvalidInput("improvement_number", kind=kind, text=seq_text[:20])
    item = await uow.improvement.get(kind, int(seq_text))
    if item is None:
        raise NotFound("improvement_not_found", kind=kind, seq=int(seq_text))
    return item


@dataclass
class Listing:
    items: list[ImprovementItem]
    votes: dict[int, dict[str, ImprovementEntry]] = field(default_factory=dict)  # item id → reviewer → vote
    collected: int = 0  # candidates the listing added from the report


async def listing(uow: UnitOfWork, rt: Runtime, identity: Identity, kind: str) -> Listing:
    """实事 / 改革 / 跟进: the open items of the kind (and the latest done or rejected). A dispatcher's or
    leader's listing first collects the current report's findings as candidates (规范 8.2: the centre
    collects): frequent categories (实事), threshold findings (改革), the last month's weak spots (跟进)."""
    staff = require_staff(identity)
    collected = 0
    # Collecting computes the period's figures (0.8 s for a quarter of 1,300 appeals, docs/improvement.md):
    # once a day per list, claimed in the scheduled-sends ledger, is often enough for findings of a period.
    today = rt.now().astimezone(rt.tz).date().isoformat()
    if staff.role in ("dispatcher", "leader") and await uow.sweeps.claim("improvement_collect", kind, today,
                                                                          rt.now()):
        collected = await collect(uow, rt, kind)
    items = await uow.improvement.items(kind)
    shown = [i for i in items if i.state in OPEN_STATES] + [i for i in items if i.state not in OPEN_STATES][-5:]
    return Listing(shown, await votes_of(uow, [i.id for i in shown if i.id is not None]), collected)


def _votes(entries: list[ImprovementEntry]) -> dict[int, dict[str, ImprovementEntry]]:
    out: dict[int, dict[str, ImprovementEntry]] = {}
    for e in entries:
        if e.kind == "vote" and e.staff_id:
            out.setdefault(e.item_id, {})[e.staff_id] = e  # entries come in order: the latest vote counts
    return out


async def votes_of(uow: UnitOfWork, item_ids: list[int]) -> dict[int, dict[str, ImprovementEntry]]:
    """Each item's current vote per reviewer (item id → reviewer id → vote entry)."""
    return _votes(await uow.improvement.entries(item_ids))


@dataclass
class Detail:
    item: ImprovementItem
    entries: list[ImprovementEntry]
    votes: dict[str, ImprovementEntry]


async def detail(uow: UnitOfWork, identity: Identity, kind: str, seq_text: str) -> Detail:
    require_staff(identity)
    item = await load(uow, kind, seq_text)
    assert item.id is not None
    entries = await uow.improvement.entries([item.id])
    return Detail(item, entries, _votes(entries).get(item.id, {}))


async def collect(uow: UnitOfWork, rt: Runtime, kind: str) -> int:
    """Store the report's findings of the current period as candidates, each once (by period and key)."""
    now = rt.now()
    period_text = "上月" if kind == FOLLOWUP else "本季度"
    report = await kpi.report_for(uow, rt, None, period_text)
    label, min_sample = report.period.label, rt.policy.evaluation.ranking_min_sample
    # (source key, title, category, owner unit, figures): the title is the category or unit as named
    found: list[tuple[str, str, str | None, str | None, dict[str, float]]] = []
    if kind == SHISHI:
        found = [(f"{label}:{c.category}", c.category, c.category, None,
                  {"count": c.count, "share": c.share, "repeats": c.repeats})
                 for c in report_candidates(report) if c.count >= CANDIDATE_MIN]
    elif kind == REFORM:
        found = [(f"{label}:{f.key}", f.label, f.key, None, dict(f.reasons))
                 for f in threshold_findings(report, min_sample)]
    else:
        found = [(f"{label}:{f.key}", f.label, None, f.key, dict(f.reasons)) for f in weak_spots(report, min_sample)]
    added = 0
    for key, title, category, owner, facts in found:
        if await uow.improvement.by_source_key(kind, key) is not None:
            continue
        source = {SHISHI: "report", REFORM: "threshold", FOLLOWUP: "weak_spot"}[kind]
        item = ImprovementItem(kind, 0, title, source, "candidate", now, source_key=key, category=category,
                               period=label, facts=facts, owner_unit_id=owner, updated_at=now)
        added += await uow.improvement.add(item) is item
    return added


# ---- 为企办实事: nomination, review, decision ----

def _entry(item: ImprovementItem, kind: str, staff: Staff, now: datetime, text: str = "",
           vote: str | None = None) -> ImprovementEntry:
    assert item.id is not None
    return ImprovementEntry(item.id, now, kind, staff.id, staff.name, text, vote)


async def nominate(uow: UnitOfWork, rt: Runtime, identity: Identity, arg: str) -> ImprovementItem:
    """实事 提名 描述 | 实事 提名 编号… 描述 | 实事 提名 N (a candidate the report found): into review."""
    staff = require_oversight(identity)
    now = rt.now()
    head, _, rest = arg.strip().partition(" ")
    if head.lstrip("#＃").isdigit():  # a candidate the report found, with the project's wording if given
        item = await load(uow, SHISHI, head)
        if item.state != "candidate":
            raise InvalidInput("improvement_state", kind=SHISHI, seq=item.seq, item_state=item.state, step="nominate")
        if rest.strip():
            item.title = checked_text(" ".join(rest.split()), "improvement_title", rt, minimum=4)
        item.state, item.proposed_by, item.proposed_by_name, item.updated_at = "reviewing", staff.id, staff.name, now
        item.proposed_at = now  # the review's clock starts now, not when the report found the candidate
        await uow.improvement.save(item)
        await uow.improvement.add_entry(_entry(item, "nominate", staff, now))
        return item
    numbers, words = [], arg.split()
    while words and NUMBER_PATTERN.fullmatch(words[0].upper()):
        numbers.append(words.pop(0).upper())
    title = checked_text(" ".join(words), "improvement_title", rt, minimum=4)  # words, so one line
    found = await uow.appeals.get_many(numbers)
    missing = [n for n in numbers if n not in found]
    if missing:
        raise NotFound("appeal_not_found", number="、".join(missing))
    categories = Counter(a.category for a in found.values())
    item = ImprovementItem(SHISHI, 0, title, "nomination", "reviewing", now,
                           appeal_numbers=list(dict.fromkeys(numbers)),
                           category=categories.most_common(1)[0][0] if categories else None,
                           proposed_by=staff.id, proposed_by_name=staff.name, updated_at=now)
    item = await uow.improvement.add(item)
    await uow.improvement.add_entry(_entry(item, "nominate", staff, now))
    return item


@dataclass
class Voted:
    item: ImprovementItem
    vote: ImprovementEntry
    votes: dict[str, ImprovementEntry]
    complete: bool  # the panel has now voted as far as the confirmation needs (leaders are told once)


async def vote(uow: UnitOfWork, rt: Runtime, identity: Identity, seq_text: str, choice: str,
               opinion: str) -> Voted:
    """实事 同意|不同意|意见 N [意见]: one reviewer's vote, recorded as 专家评审 with its opinion; a
    later vote of the same reviewer replaces the earlier one in the tally."""
    staff = require_reviewer(rt, identity)
    item = await load(uow, SHISHI, seq_text)
    if item.state != "reviewing":
        raise InvalidInput("improvement_state", kind=SHISHI, seq=item.seq, item_state=item.state, step="vote")
    opinion = opinion.strip()
    if choice == "意见" and len(opinion) < 2:
        raise InvalidInput("improvement_opinion", seq=item.seq)
    if len(opinion) > rt.policy.text_max_chars:
        raise InvalidInput("text_long", max=rt.policy.text_max_chars, length=len(opinion))
    assert item.id is not None
    before = (await votes_of(uow, [item.id])).get(item.id, {})
    entry = await uow.improvement.add_entry(_entry(item, "vote", staff, rt.now(), opinion, choice))
    item.updated_at = rt.now()
    await uow.improvement.save(item)
    after = {**before, staff.id: entry}
    needed = rt.policy.improvement.votes_needed
    return Voted(item, entry, after, len(before) < needed <= len(after))


async def decide(uow: UnitOfWork, rt: Runtime, identity: Identity, seq_text: str, confirm: bool,
                 note: str) -> tuple[ImprovementItem, dict[str, ImprovementEntry]]:
    """实事 确认 N [说明] / 实事 否决 N 理由: a leader's decision after the 专家评审."""
    staff = require_leader(identity, SHISHI)
    item = await load(uow, SHISHI, seq_text)
    allowed = ("reviewing",) if confirm else ("candidate", "reviewing", "approved")
    if item.state not in allowed:
        raise InvalidInput("improvement_state", kind=SHISHI, seq=item.seq, item_state=item.state,
                           step="confirm" if confirm else "reject")
    assert item.id is not None
    votes = (await votes_of(uow, [item.id])).get(item.id, {})
    needed = rt.policy.improvement.votes_needed
    if confirm and len(votes) < needed:
        waiting = [await _staff_name(uow, s) for s in rt.policy.improvement.reviewers if s not in votes]
        raise InvalidInput("improvement_votes_missing", seq=item.seq, have=len(votes), need=needed,
                           missing=needed - len(votes), waiting=waiting)
    note = note.strip()
    if not confirm:
        note = checked_text(note, "improvement_reject_reason", rt)
    now = rt.now()
    item.state = "approved" if confirm else "rejected"
    item.decided_by, item.decided_at, item.decision_note, item.updated_at = staff.id, now, note or None, now
    await uow.improvement.save(item)
    await uow.improvement.add_entry(_entry(item, "confirm" if confirm else "reject", staff, now, note))
    return item, votes


async def _staff_name(uow: UnitOfWork, staff_id: str) -> str:
    person = await uow.directory.staff(staff_id)
    return person.name if person else staff_id


async def reviewer_names(uow: UnitOfWork, rt: Runtime) -> list[tuple[str, str]]:
    """(id, name) of the 专家评审 panel, in configured order."""
    return [(s, await _staff_name(uow, s)) for s in rt.policy.improvement.reviewers]


# ---- carrying out: 交办, 进展, 完成 ----

_DATE = re.compile(r"(?:(\d{4})[-/年.])?(\d{1,2})[-/月.](\d{1,2})日?")
_DAYS = re.compile(r"(\d{1,3})(个工作日|工作日|天|日)")


def parse_deadline(text: str, rt: Runtime, now: datetime) -> datetime | None:
    """2026-12-31 | 2026年12月31日 | 12月31日 | 20个工作日 | 30天 → the end of that local day; None when
    the text is no deadline. A date already past is refused."""
    text = text.strip()
    local_today = now.astimezone(rt.tz).date()
    if m := _DAYS.fullmatch(text):
        n = int(m[1])
        if n < 1:
            raise InvalidInput("improvement_deadline_past", text=text)
        if m[2] in ("个工作日", "工作日"):
            day = rt.calendar.add_workdays(now, n).at.astimezone(rt.tz).date()
        else:
            day = local_today + timedelta(days=n)
    elif m := _DATE.fullmatch(text):
        year = int(m[1]) if m[1] else local_today.year
        try:
            day = date(year, int(m[2]), int(m[3]))
            if not m[1] and day < local_today:  # 3月31日 in December: next year's
                day = day.replace(year=year + 1)
        except ValueError:
            raise InvalidInput("improvement_deadline_format", text=text[:20]) from None
    else:
        return None
    if day <= local_today:
        raise InvalidInput("improvement_deadline_past", text=text)
    return datetime.combine(day, time(23, 59, 59), tzinfo=rt.tz)


def _assign_roles(identity: Identity, kind: str) -> Staff:
    """改革任务 are a leader's to assign (规范 8.2); 实事 and follow-ups also the centre's dispatchers."""
    if kind == REFORM:
        return require_leader(identity, REFORM)
    return require_oversight(identity)


@dataclass
class Assigned:
    item: ImprovementItem
    unit_name: str


async def assign(uow: UnitOfWork, rt: Runtime, identity: Identity, kind: str, arg: str) -> Assigned:
    """交办 N [单位] [期限] [说明]: an approved 实事, a reform candidate or a weak spot becomes a task of a
    unit with a deadline. A follow-up keeps its weak unit and gets the configured working days when they
    are not given; a reform task needs its functional department."""
    staff = _assign_roles(identity, kind)
    seq_text, _, rest = arg.strip().partition(" ")
    item = await load(uow, kind, seq_text)
    ready = {SHISHI: ("approved",), REFORM: ("candidate",), FOLLOWUP: ("candidate",)}[kind]
    if item.state not in ready:
        raise InvalidInput("improvement_state", kind=kind, seq=item.seq, item_state=item.state, step="assign")
    now = rt.now()
    words = rest.split()
    units = [u for u in await uow.directory.units() if u.kind not in ("service_centre",)]
    unit = None
    if words and parse_deadline(words[0], rt, now) is None:
        unit = match_unit(units, words.pop(0))
    elif item.owner_unit_id:
        unit = next((u for u in units if u.id == item.owner_unit_id), None)
    if unit is None:
        raise InvalidInput("improvement_assign_usage", kind=kind, seq=item.seq)
    deadline = parse_deadline(words[0], rt, now) if words else None
    if deadline is not None:
        words.pop(0)
    elif kind == FOLLOWUP and not words:
        deadline = datetime.combine(rt.calendar.add_workdays(now, rt.policy.improvement.followup_workdays).at
                                    .astimezone(rt.tz).date(), time(23, 59, 59), tzinfo=rt.tz)
    if deadline is None:
        raise InvalidInput("improvement_assign_usage", kind=kind, seq=item.seq)
    note = " ".join(words).strip()
    if len(note) > rt.policy.text_max_chars:
        raise InvalidInput("text_long", max=rt.policy.text_max_chars, length=len(note))
    item.state, item.owner_unit_id, item.deadline = "assigned", unit.id, deadline
    item.assigned_by, item.assigned_at, item.updated_at = staff.id, now, now
    if note:  # what the task asks for, in the words of the one who assigns it
        item.decision_note = note
    await uow.improvement.save(item)
    await uow.improvement.add_entry(_entry(item, "assign", staff, now, note))
    return Assigned(item, unit.name)


async def progress(uow: UnitOfWork, rt: Runtime, identity: Identity, kind: str, arg: str) -> ImprovementItem:
    """进展 N 内容: a progress note on an item being carried out."""
    seq_text, _, text = arg.strip().partition(" ")
    item = await load(uow, kind, seq_text)
    staff = require_carrier(identity, item)
    if item.state != "assigned":
        raise InvalidInput("improvement_state", kind=kind, seq=item.seq, item_state=item.state, step="progress")
    text = checked_text(text, "improvement_progress_empty", rt)
    now = rt.now()
    item.updated_at = now
    await uow.improvement.save(item)
    await uow.improvement.add_entry(_entry(item, "progress", staff, now, text))
    return item


async def finish(uow: UnitOfWork, rt: Runtime, identity: Identity, kind: str, arg: str) -> ImprovementItem:
    """完成 N 说明: the closing note (for a reform task: the mechanism or service item it became)."""
    seq_text, _, text = arg.strip().partition(" ")
    item = await load(uow, kind, seq_text)
    staff = require_carrier(identity, item)
    if item.state != "assigned":
        raise InvalidInput("improvement_state", kind=kind, seq=item.seq, item_state=item.state, step="finish")
    text = checked_text(text, "improvement_closing_empty", rt, minimum=4)
    now = rt.now()
    item.state, item.closed_at, item.closing_note, item.updated_at = "done", now, text, now
    await uow.improvement.save(item)
    await uow.improvement.add_entry(_entry(item, "done", staff, now, text))
    return item


# ---- 改革: the mark at 办结 ----

def split_unsolvable(text: str) -> tuple[str, str | None]:
    """'已协调… 现行机制无法解决：缺少审批依据' → ('已协调…', '缺少审批依据'); no mark → (text, None)."""
    at = text.find(UNSOLVABLE)
    if at < 0:
        return text, None
    reason = text[at + len(UNSOLVABLE):].lstrip(" ：:，,")
    return text[:at].rstrip(" ，,；;。"), reason.strip()


async def mark_unsolvable(uow: UnitOfWork, rt: Runtime, staff: Staff, appeal_number: str, category: str,
                          reason: str) -> ImprovementItem:
    """A handler closing an appeal says the current mechanism cannot solve it: a reform candidate for the
    centre, carrying the appeal and the reason (规范 8.2)."""
    now = rt.now()
    item = ImprovementItem(REFORM, 0, " ".join(reason.split()), "resolve_mark", "candidate", now,
                           appeal_numbers=[appeal_number],
                           source_key=f"mark:{appeal_number}", category=category, proposed_by=staff.id,
                           proposed_by_name=staff.name, owner_unit_id=None, updated_at=now)
    stored = await uow.improvement.add(item)
    if stored is not item:  # closed again after a rectification: the newer reason replaces the older
        stored.title, stored.updated_at = item.title, now
        await uow.improvement.save(stored)
    await uow.improvement.add_entry(_entry(stored, "mark", staff, now, appeal_number))
    return stored


async def unsolvable_mark(uow: UnitOfWork, appeal_number: str) -> ImprovementItem | None:
    """The reform candidate a 现行机制无法解决 mark at this appeal's 办结 made, if any (shown in 详情)."""
    return await uow.improvement.by_source_key(REFORM, f"mark:{appeal_number}")


# ---- reminders and the leaders' digest ----

@dataclass
class DigestLines:
    """What changed in the lists since the last digest, and what is overdue now."""

    proposed: int = 0
    confirmed: int = 0
    rejected: int = 0
    assigned: int = 0
    progress: int = 0
    done: int = 0
    reviewing: int = 0
    overdue: list[tuple[ImprovementItem, int]] = field(default_factory=list)  # item, working days over
    done_items: list[ImprovementItem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.proposed or self.confirmed or self.rejected or self.assigned or self.progress or self.done
                    or self.reviewing or self.overdue)


async def digest_lines(uow: UnitOfWork, rt: Runtime, since: datetime, until: datetime, now: datetime) -> DigestLines:
    d = DigestLines()
    for e in await uow.improvement.entries_between(since, until):
        if e.kind in ("nominate", "mark"):
            d.proposed += 1
        elif e.kind == "confirm":
            d.confirmed += 1
        elif e.kind == "reject":
            d.rejected += 1
        elif e.kind == "assign":
            d.assigned += 1
        elif e.kind == "progress":
            d.progress += 1
        elif e.kind == "done":
            d.done += 1
    for item in await uow.improvement.items(states=(*OPEN_STATES, "done")):
        if item.state == "reviewing":
            d.reviewing += 1
        if item.state == "done" and item.closed_at is not None and since <= item.closed_at < until:
            d.done_items.append(item)
    for item in await uow.improvement.due_before(now, 50):
        assert item.deadline is not None
        d.overdue.append((item, max(1, rt.calendar.workdays_between(item.deadline, now))))
    return d


async def due_reminders(ctx: SweepContext) -> int:
    """Items being carried out: near their deadline → the owner unit once per deadline; past it → the
    owner unit and the centre's dispatchers once each working day (the appeals' reminder rules)."""
    now = ctx.now()
    if ctx.held(now):
        return 0
    horizon = ctx.rt.calendar.add_workdays(now, ctx.schedule.near_due_workdays).at + timedelta(seconds=1)
    today = ctx.today(now)
    sent = 0
    async with ctx.rt.uow() as uow:
        items = await uow.improvement.due_before(horizon, ctx.schedule.batch_size)
        names = {u.id: u.name for u in await uow.directory.units()} if items else {}
        dispatchers = await uow.directory.keys_for_role("dispatcher") if items else []
        for item in items:
            assert item.deadline is not None
            unit_keys = await uow.handling.keys_for_unit(item.owner_unit_id) if item.owner_unit_id else []
            subject = f"{item.kind}:{item.seq}"
            params = {"item_kind": item.kind, "seq": item.seq, "title": item.title, "due": item.deadline,
                      "unit": names.get(item.owner_unit_id or "", "")}
            if item.deadline > now:
                if await uow.sweeps.claim("improvement_near", subject, slot_of(item.deadline), now,
                                          ref_at=item.deadline, recipients=len(unit_keys)):
                    sent += await ctx.send(uow, unit_keys, ctx.render.text("improvement_near_due", **params))
                continue
            keys = [*unit_keys, *dispatchers]
            if await uow.sweeps.claim("improvement_overdue", subject, today, now, ref_at=item.deadline,
                                      recipients=len(keys)):
                days = max(1, ctx.rt.calendar.workdays_between(item.deadline, now))
                sent += await ctx.send(uow, keys, ctx.render.text("improvement_overdue", days=days, **params))
        await uow.commit()
    return sent


async def review_reminders(ctx: SweepContext) -> int:
    """A nomination still under review after the sign-off limit (working days): each reviewer who has not
    voted is reminded once, with the vote buttons' commands in the text."""
    now = ctx.now()
    if ctx.held(now):
        return 0
    sent = 0
    async with ctx.rt.uow() as uow:
        waiting = await uow.improvement.items(SHISHI, ["reviewing"])
        votes = await votes_of(uow, [i.id for i in waiting if i.id is not None]) if waiting else {}
        for item in waiting:
            if ctx.rt.calendar.add_workdays(item.proposed_at, ctx.rt.policy.time_limits.signoff).at > now:
                continue
            for reviewer in ctx.rt.policy.improvement.reviewers:
                if reviewer in votes.get(item.id or 0, {}):
                    continue
                keys = await uow.directory.keys_for_staff([reviewer])
                if await uow.sweeps.claim("improvement_review", f"{item.seq}:{reviewer}", "once", now,
                                          recipients=len(keys)):
                    sent += await ctx.send(uow, keys, ctx.render.text(
                        "improvement_review", item_kind=item.kind, seq=item.seq, title=item.title,
                        since=item.proposed_at))
        await uow.commit()
    return sent


async def monthly_weak_spots(ctx: SweepContext) -> int:
    """On the first working day of a month (from the digest time): last month's weak spots become follow-up
    candidates by themselves, and the leaders and the centre are told how many (规范 8.1)."""
    now = ctx.now()
    local = ctx.local(now)
    if (not ctx.rt.calendar.is_workday(local.date()) or ctx.is_quiet(now)
            or local < ctx.digest_moment(local.date())):
        return 0
    period = kpi.parse_period("上月", ctx.rt.tz, local.date()).label
    async with ctx.rt.uow() as uow:
        if not await uow.sweeps.claim("improvement_weak_spots", "county", period, now):
            return 0
        added = await collect(uow, ctx.rt, FOLLOWUP)
        sent = 0
        if added:
            keys = [*await uow.directory.keys_for_role("leader"), *await uow.directory.keys_for_role("dispatcher")]
            sent = await ctx.send(uow, keys, ctx.render.text(
                "improvement_weak_spots", period=period, n=added, days=ctx.rt.policy.improvement.followup_workdays))
        await uow.commit()
    return sent


def register(reg: SweepRegistry) -> None:
    reg.add("improvement_due", due_reminders)
    reg.add("improvement_review", review_reminders)
    reg.add("improvement_weak_spots", monthly_weak_spots)
