"""Several scheduler instances, the runner's wiring, 日报 on demand, and `qihu scheduler --once`."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

import pytest

from scheduler.jobs import run_pass
from tests.conftest import PG_URL, SHANGHAI, Chat, bind_staff, start_app
from tests.fakes import FrozenClock
from tests.integration.test_scheduler_week import START, sent_since, setup_week


def period(kind: str, body: dict) -> str:
    """A report's first line names its period: September's and Q3's arrive on the same day, one each."""
    return body["text"].split("\n")[0] if kind == "report_auto" else ""


async def test_two_instances_against_postgresql_send_each_reminder_once(settings):
    if not PG_URL:
        pytest.skip("needs PostgreSQL: set QIHU_TEST_DATABASE_URL=postgresql+asyncpg://…/<your db> "
                    "(FOR UPDATE SKIP LOCKED and concurrent ledger inserts are PostgreSQL behaviour)")
    clock = FrozenClock(START)
    first = await start_app(settings, clock)
    second = await start_app(settings, clock)  # its own engine and pool: another process, as far as the DB sees
    try:
        _, _, _, last = await setup_week(first, clock)
        for moment in (datetime(2026, 10, 9, 8, 0, tzinfo=SHANGHAI), datetime(2026, 10, 12, 8, 40, tzinfo=SHANGHAI),
                       datetime(2026, 10, 13, 9, 0, tzinfo=SHANGHAI)):
            clock.at = moment
            await asyncio.gather(*(run_pass(app.sweeps) for app in (first, second, first, second)))
        rows = await sent_since(first, last)
        counts = Counter((at.date(), who, kind, period(kind, body)) for at, who, kind, body in rows)
        assert counts and max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
        kinds = {kind for _, _, kind, _ in counts}
        assert {"dispatch", "signoff", "overdue", "leader", "digest_leader", "digest_todo", "digest_pool",
                "rating_expired"} <= kinds
    finally:
        await first.close()
        await second.close()


async def test_many_concurrent_passes_on_one_database_send_once(settings):
    """Whatever the database: passes racing in one process never double-send (the ledger is the claim)."""
    clock = FrozenClock(START)
    app = await start_app(settings, clock)
    other = await start_app(settings, clock)
    try:
        _, _, _, last = await setup_week(app, clock)
        clock.at = datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
        await asyncio.gather(run_pass(app.sweeps), run_pass(other.sweeps), run_pass(app.sweeps))
        counts = Counter((who, kind, period(kind, body)) for _, who, kind, body in await sent_since(app, last))
        assert counts and max(counts.values()) == 1
    finally:
        await app.close()
        await other.close()


async def test_runner_schedules_the_registered_sweeps(app):
    assert {"dispatch_overdue", "signoff_overdue", "near_due", "overdue_daily", "overdue_leader",
            "rating_reminder", "rating_expiry", "digest_leader", "digest_todo", "digest_pool"} <= set(
        app.sweeps.registry.sweeps)
    assert "rating_prompt" not in app.sweeps.registry.sweeps  # the invitation goes with the 办结 notice
    runner = app.start_scheduler()
    try:
        assert runner.running
        assert runner.jobs() == [("sweeps", app.settings.scheduler.interval_seconds)]
        job = runner.scheduler.get_job("sweeps")
        assert job.max_instances == 1 and job.coalesce and job.next_run_time is not None
    finally:
        await app.close()
    assert app.scheduler is None


async def test_a_failing_sweep_does_not_stop_the_others(app, clock):
    async def broken(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    app.sweeps.registry.add("test_broken", broken)  # this app's registry only
    result = await run_pass(app.sweeps)
    assert result.failed == ["test_broken"] and "digest_leader" in result.sent


async def test_daily_digest_on_demand_for_leaders_and_dispatchers_only(app, clock):
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    from tests.integration.test_filing_dialogue import file_first_appeal
    number = await file_first_appeal(Chat(app, "ent-1"))
    await dispatcher.say(f"分派 {number} 供电 时限 1")
    clock.advance(days=2)
    reply = await leader.say("日报")
    assert reply.startswith("【每日简报】") and "超期 1 件" in reply and number in reply
    assert "【每日简报】" in await dispatcher.say("/daily")
    assert "仅供领导和服务中心调度员" in await li.say("日报")
    assert "仅供领导和服务中心调度员" in await Chat(app, "ent-1").say("日报")


def test_qihu_scheduler_once(tmp_path, monkeypatch, capsys):
    from bot.cli.parser import main
    monkeypatch.setenv("QIHU_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/once.db")
    main(["scheduler", "--once"])
    assert "已执行一轮定时任务" in capsys.readouterr().out
