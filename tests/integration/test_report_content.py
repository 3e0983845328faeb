"""The report's content: unit chart and table list the same units, cases come from the period, and
a negative case says whether it is being rectified or overdue (issue 15, item 13)."""

from __future__ import annotations

from datetime import datetime

from bot.reports.charts import unit_bars, unit_index_chart
from bot.reports.content import build, unit_rows
from bot.reports.render import sections
from bot.services.kpi import report_for
from tests.conftest import SHANGHAI, bind_staff
from tests.integration.test_rating_buttons import resolved_for


async def content_for(app, period: str):  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        kpi = await report_for(uow, app.runtime, None, period)
    return build(kpi, app.settings.evaluation.ranking_min_sample)


async def rate(chat, number: str, level: str, comment: str) -> None:  # type: ignore[no-untyped-def]
    await chat.say(f"评价 {number} {level}")
    await chat.say("跳过")
    await chat.say(comment)
    await chat.say("已解决" if level == "非常满意" else "未解决")


async def test_typical_cases_of_a_quarter_come_from_that_quarter(app, clock):
    clock.at = datetime(2026, 9, 21, 10, 0, tzinfo=SHANGHAI)
    [(old, n_old)] = await resolved_for(app, clock, ["ent-q3"])
    await rate(old, n_old, "非常满意", "九月份的事，办得快")
    clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
    [(new, n_new)] = await resolved_for(app, clock, ["ent-q4"])
    await rate(new, n_new, "非常满意", "十一月的事，办得好")
    q4, q3 = await content_for(app, "2026Q4"), await content_for(app, "2026Q3")
    assert [r["number"] for r in q4.positive_cases] == [n_new]
    assert [r["number"] for r in q3.positive_cases] == [n_old]


async def test_the_unit_chart_shows_every_unit_its_table_lists(app, clock):
    rounds = await resolved_for(app, clock, ["ent-c1", "ent-c2"])
    for chat, number in rounds:
        await rate(chat, number, "满意", "可以")
    c = await content_for(app, "2026Q4")
    assert c.ranked == []  # 2 ratings: below the ranking sample of 5
    table = [f.label for f in unit_rows(c.kpi) if f.index is not None]
    assert table and [label for label, _, _ in unit_bars(c)] == [f"{u}（样本少）" for u in table]
    assert unit_index_chart(c) is not None


async def test_a_negative_case_says_whether_it_is_being_rectified_or_overdue(app, clock):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    [(chat, number)] = await resolved_for(app, clock, ["ent-bad"])
    await rate(chat, number, "非常不满意", "电压还是不稳")
    await dispatcher.say(f"核实 {number} 有效 已电话联系企业，电压不稳属实")

    def case_line(c) -> str:  # type: ignore[no-untyped-def]
        [lines] = [rows for heading, rows, _ in sections(c, app.runtime.tz) if heading.startswith("十、")]
        [line] = [str(x) for x in lines]
        return line

    assert "整改中（未到期）" in case_line(await content_for(app, "2026Q4"))
    clock.advance(days=30)  # past the 15 working days
    assert "逾期未整改" in case_line(await content_for(app, "2026Q4"))
