"""KPIs against a hand-computed fixture: extended deadlines, transfers, unrated appeals, excluded invalid 差评."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import InvalidInput
from bot.services.kpi import AppealFact, Snapshot, SpellFact, compute, parse_period, ranking
from bot.services.policy import EvaluationPolicy
from bot.services.ports import Callback, OrgUnit, Rating

TZ = ZoneInfo("Asia/Shanghai")


def d(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


def appeal(i: int, *, resolved: datetime | None = None, expired: datetime | None = None, lead: str = "gdgs",
           repeat_of: str | None = None, repeat_state: str = "", flags: dict | None = None,
           submitted: datetime | None = None) -> AppealFact:
    return AppealFact(i, f"QH202611{i:02d}-0001", f"USCC{i}", f"企业{i}", "水电气能源", "县级", "求助", "zzd",
                      "closed", "xikou", lead, submitted or d(11, 2), resolved, None, expired, None, repeat_of,
                      repeat_state, "已解决", "问题", "办结", flags or {})


def spell(i: int, appeal_id: int, unit: str, due: datetime, ended: datetime | None, reason: str | None) -> SpellFact:
    return SpellFact(i, appeal_id, unit, "lead", d(11, 2), due, ended, reason)


def rating(appeal_id: int, level: int, solved: str, at: datetime, rnd: int = 1, unit: str = "gdgs",
           **kw: object) -> Rating:
    return Rating(appeal_id, rnd, level, [], "2026.1", "", solved, 1, unit, at, level <= 2, **kw)  # type: ignore[arg-type]


@pytest.fixture
def snapshot() -> Snapshot:
    appeals = [
        appeal(1, resolved=d(11, 15)),  # extended deadline, on time
        appeal(2, resolved=d(11, 22)),  # transferred from jxj, then late at gdgs
        appeal(3, resolved=d(11, 18), expired=d(11, 25)),  # never rated: 未评价
        appeal(4, resolved=d(11, 10), lead="jxj"),  # 差评 found invalid: excluded
        appeal(5, lead="jxj"),  # still open after its deadline: late
        appeal(6, resolved=d(11, 19)),  # valid 差评, rectified on time, rated again
        appeal(7, resolved=d(12, 2), submitted=d(11, 30)),  # resolved in December: not in the cohort
        appeal(8, resolved=d(11, 30)),  # rating window still open on 12-05: pending
        appeal(9, repeat_of="QH20261101-0001", repeat_state="flagged"),
        appeal(10, repeat_of="QH20261101-0001", repeat_state="unlinked"),
        appeal(11, flags={"merged_into": "QH20261101-0001"}),  # merged duplicate: not received
    ]
    spells = [
        spell(1, 1, "gdgs", d(11, 17), d(11, 15), "resolved"),  # due moved 11-10 → 11-17 by an extension
        spell(2, 2, "jxj", d(11, 12), d(11, 5), "transferred"),  # moved on before its deadline: not counted
        spell(3, 2, "gdgs", d(11, 20), d(11, 22), "resolved"),
        spell(4, 3, "gdgs", d(11, 18), d(11, 18), "resolved"),
        spell(5, 4, "jxj", d(11, 19), d(11, 10), "resolved"),
        spell(6, 5, "jxj", d(11, 25), None, None),
        spell(7, 6, "gdgs", d(11, 20), d(11, 19), "resolved"),
        spell(8, 7, "gdgs", d(12, 1), d(12, 2), "resolved"),
        spell(9, 8, "gdgs", d(11, 28), d(11, 30), "resolved"),
        spell(99, 6, "gdgs", d(12, 1), d(11, 28), "resolved"),  # rectification: not an on-time task
    ]
    ratings = [
        rating(1, 5, "已解决", d(11, 16)),
        rating(2, 3, "部分解决", d(11, 23)),
        rating(4, 1, "未解决", d(11, 11), unit="jxj", verdict="invalid", verdict_kind="恶意"),
        rating(6, 2, "未解决", d(11, 20), verdict="valid", rectify_due_at=d(12, 1), rectify_holding_id=99),
        rating(6, 4, "已解决", d(11, 29), rnd=2),
    ]
    callbacks = [Callback(1, "sample", "s", d(11, 16), "满意", True, "电话", "chen", d(11, 20)),
                 Callback(2, "sample", "s", d(11, 23), "不满意", False, "电话", "chen", d(11, 21))]
    units = [OrgUnit("gdgs", "供电公司", "department"), OrgUnit("jxj", "经信局", "department")]
    return Snapshot(appeals, spells, ratings, callbacks, [], [], units)


def test_hand_computed_figures(snapshot):
    r = compute(snapshot, parse_period("2026-11", TZ), d(12, 5), EvaluationPolicy())
    t = r.total
    assert t.received == 10 and (t.repeat.num, t.repeat.den) == (1, 10)
    # On time: spells 1, 4, 5, 7 hit; 3, 6 (open, overdue), 9 late; 2 moved on early, 8 due in Dec, 99 rectification.
    assert (t.on_time.num, t.on_time.den, t.on_time.pct) == (4, 7, 57.1)
    assert t.resolved == 6 and t.excluded_invalid == 1 and t.pending_rating == 1
    assert (t.unrated.num, t.unrated.den) == (1, 4)
    # First valid rating per appeal: 5, 3, 2 (appeal 6's second round does not replace its first).
    assert (t.satisfaction.num, t.satisfaction.den) == (2, 3)
    assert (t.satisfaction_strict.num, t.solved.num, t.partly_solved.num) == (1, 1, 1)
    assert t.levels == {5: 1, 4: 0, 3: 1, 2: 1, 1: 0}
    assert t.bad_reviews == 2 and (t.rectification.num, t.rectification.den) == (1, 1)
    assert (t.callback.num, t.callback.den) == (1, 2)
    # Index over the components with data (no grassroots / third party): Σwx / Σw.
    expected = (66.7 * .25 + 33.3 * .15 + 57.1 * .15 + 90.0 * .05 + 100 * .05 + 50 * .05) / .70
    assert t.index == round(expected, 1) == 60.3
    gdgs, jxj = r.by_unit["gdgs"], r.by_unit["jxj"]
    assert (gdgs.on_time.num, gdgs.on_time.den) == (3, 5)
    assert (jxj.on_time.num, jxj.on_time.den) == (1, 2)
    assert jxj.satisfaction.den == 0 and jxj.excluded_invalid == 1
    assert len(r.rows["on_time"]) == 7 and sum(row["on_time"] for row in r.rows["on_time"]) == 4
    assert [f.label for f in ranking(r, 1)] == ["供电公司"]


def test_december_sees_the_late_resolution_only():
    empty = Snapshot([], [], [], [], [], [], [])
    r = compute(empty, parse_period("2026Q4", TZ), d(12, 5), EvaluationPolicy())
    assert r.total.index is None and r.total.received == 0
    assert [p.label for p in parse_period("2026Q4", TZ).parts()] == ["2026-10", "2026-11", "2026-12"]


@pytest.mark.parametrize(("text", "label"), [("2026Q4", "2026Q4"), ("2026-11", "2026-11"), ("2026W48", "2026W48"),
                                             ("本月", "2026-11"), ("本季度", "2026Q4"), ("本周", "2026W48")])
def test_periods(text, label):
    p = parse_period(text, TZ, d(11, 25).date())
    assert p.label == label
    if label == "2026W48":
        assert p.start == datetime(2026, 11, 23, tzinfo=TZ) and p.end == datetime(2026, 11, 30, tzinfo=TZ)


def test_bad_period_is_refused():
    with pytest.raises(InvalidInput):
        parse_period("明年", TZ, d(11, 25).date())
