"""Reports that arrive by themselves (规范 8.1, issue 17 §6): on the first working day after a month or a
quarter ends, each leader gets the report as a signed link through the outbox, once per period."""

from __future__ import annotations

from datetime import datetime

from bot.services.auto_reports import ended_periods
from scheduler.jobs import run_pass
from tests.conftest import SHANGHAI, bind_staff, start_app
from tests.integration.test_typical_cases import closed_case


async def report_rows(app, user: str) -> list:  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        rows = await uow.outbox.for_recipient("web", user, 0, 1000)
    return [r for r in rows if "企业服务指数报告" in r.body["text"] and "已生成" in r.body["text"]]


def test_the_periods_that_just_ended():
    day = datetime(2027, 1, 4).date()
    assert ended_periods(day, True, True) == [("month", "2026-12", datetime(2027, 1, 1).date()),
                                              ("quarter", "2026Q4", datetime(2027, 1, 1).date())]
    assert ended_periods(datetime(2026, 11, 25).date(), True, True)[1][1] == "2026Q3"


async def test_the_leader_gets_last_months_and_quarters_reports_once_on_the_first_working_day(app, clock):
    await bind_staff(app, "staff:wang", "wang-leader")
    await bind_staff(app, "staff:chen", "chen-dispatch")
    await closed_case(app, clock)  # 2026-11-25: rated 非常满意 with a comment

    # December starts on Tuesday 12-01, a working day; 08:59 is before deliver_at (09:00).
    clock.at = datetime(2026, 12, 1, 8, 59, tzinfo=SHANGHAI)
    await run_pass(app.sweeps)
    assert await report_rows(app, "staff:wang") == []
    clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    await run_pass(app.sweeps)
    [row] = await report_rows(app, "staff:wang")
    assert "【月度企业服务指数报告 2026-11】已生成：受理 1 件，办结 1 件" in row.body["text"]
    assert "12-02 09:00 前有效" in row.body["text"] and "qihu report" not in row.body["text"]
    assert row.body["link"]["name"] == "企业服务指数报告-2026-11.html"
    assert "/reports/2026-11.html?by=wang-leader&" in row.body["link"]["url"]
    assert await report_rows(app, "staff:chen") == []  # recipients: the leaders unless configured

    # Later passes, the same day or the next, a restarted app: nothing again.
    clock.advance(hours=3)
    await run_pass(app.sweeps)
    other = await start_app(app.settings, clock)
    try:
        clock.advance(days=1)
        await run_pass(other.sweeps)
    finally:
        await other.close()
    assert len(await report_rows(app, "staff:wang")) == 1


async def test_the_quarter_report_names_the_cases_to_approve(app, clock):
    await bind_staff(app, "staff:wang", "wang-leader")
    await closed_case(app, clock)
    # Monday 2027-01-04 is the first working day of 2027 (New Year's Day is Friday 01-01).
    clock.at = datetime(2027, 1, 4, 9, 30, tzinfo=SHANGHAI)
    await run_pass(app.sweeps)
    month, quarter = [r.body["text"] for r in await report_rows(app, "staff:wang")]  # in registration order
    assert "【月度企业服务指数报告 2026-12】" in month and "审核发布" not in month
    assert "【季度企业服务指数报告 2026Q4】" in quarter and "发送「典型 2026Q4」查看" in quarter


async def test_configured_recipients_and_switches(settings, clock):
    reports = settings.reports.model_copy(update={"auto_quarterly": False, "recipients": ["chen-dispatch"]})
    app = await start_app(settings.model_copy(update={"reports": reports}), clock)
    try:
        await bind_staff(app, "staff:wang", "wang-leader")
        await bind_staff(app, "staff:chen", "chen-dispatch")
        clock.at = datetime(2027, 1, 4, 9, 30, tzinfo=SHANGHAI)
        await run_pass(app.sweeps)
        assert await report_rows(app, "staff:wang") == []
        [row] = await report_rows(app, "staff:chen")
        assert "2026-12" in row.body["text"] and "by=chen-dispatch" in row.body["link"]["url"]
    finally:
        await app.close()


async def test_a_scheduler_down_for_too_long_does_not_send_stale_reports(app, clock):
    await bind_staff(app, "staff:wang", "wang-leader")
    clock.at = datetime(2026, 12, 7, 9, 30, tzinfo=SHANGHAI)  # 4 working days after 12-01: past catch_up (3)
    await run_pass(app.sweeps)
    assert await report_rows(app, "staff:wang") == []
    assert "2026-11" in await (await bind_staff(app, "staff:wang", "wang-leader")).say("报告 2026-11")
