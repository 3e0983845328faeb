"""/readyz, /metrics, the calendar alarm (start-up, digests), `qihu doctor` and `qihu calendar show`,
on the real database, with the clock frozen: none of it depends on today's date."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text

from bot import ops_cli
from bot.cli import parser as cli
from bot.config import EXAMPLE_CONFIG
from bot.domain.calendar import WorkCalendar
from bot.health import check
from bot.messages import ConversationKey, OutboundMessage
from bot.metrics import is_loopback
from bot.server import make_web_app, serve
from scheduler.jobs import run_pass
from storage import tables as t
from tests.conftest import SHANGHAI, Chat, bind_staff, start_app
from tests.fakes import FrozenClock, RecordingSender
from tests.integration.test_filing_dialogue import file_first_appeal

_CAL = WorkCalendar()
# The first year chinesecalendar lacks, whatever release is installed: the tests never name a year.
UNCOVERED = next(y for y in range(2024, 2100) if not _CAL.covers(date(y, 1, 1)))
COVERED = UNCOVERED - 1


def workday(month: int, day: int, hour: int = 9) -> datetime:
    """9:00 on the first working day from month-day of the last covered year."""
    d = date(COVERED, month, day)
    while not _CAL.is_workday(d):
        d += timedelta(days=1)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


JUNE, NOVEMBER, DECEMBER = workday(6, 10), workday(11, 3), workday(12, 14)


def samples(body: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


async def scrape(client: TestClient) -> dict[tuple[str, tuple], float]:
    r = await client.get("/metrics")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    return samples(await r.text())


@pytest.fixture
async def june(settings):  # type: ignore[no-untyped-def]
    clock = FrozenClock(JUNE)
    app = await start_app(settings, clock, senders={"tg": RecordingSender()})
    async with TestClient(TestServer(make_web_app(app))) as client:
        yield app, client, clock
    await app.close()


async def test_readyz_is_ready_in_june_and_names_the_missing_calendar_year_in_december(june):
    _, client, clock = june
    r = await client.get("/readyz")
    body = await r.json()
    assert r.status == 200 and body["status"] == "ready" and body["problems"] == []
    assert [c["name"] for c in body["checks"]] == ["database", "migrations", "channels", "calendar", "spool"]
    assert body["calendar_missing_years"] == []
    assert (await (await client.get("/healthz")).json())["status"] == "ok"

    clock.at = DECEMBER
    r = await client.get("/readyz")
    body = await r.json()
    assert r.status == 503 and body["status"] == "not ready"
    assert body["calendar_missing_years"] == [UNCOVERED]
    [problem] = body["problems"]
    assert problem.startswith("calendar:") and f"缺少 {UNCOVERED} 年节假日数据" in problem
    assert f"qihu calendar show {UNCOVERED}" in problem


async def test_readyz_refuses_a_database_behind_the_migrations(june):
    app, client, _ = june
    async with app.database.engine.begin() as conn:
        [head] = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        await conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    try:
        r = await client.get("/readyz")
        body = await r.json()
        assert r.status == 503
        assert body["problems"] == [f"migrations: 数据库版本 0009，最新版本 {head}；请运行 qihu db upgrade"]
    finally:
        async with app.database.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


async def test_a_database_that_is_down_silent_or_missing_is_named(settings, tmp_path):
    cal = WorkCalendar()

    def at(url: str, timeout: float = 2.0):  # type: ignore[no-untyped-def]
        mon = settings.monitoring.model_copy(update={"db_timeout_seconds": timeout})
        return settings.model_copy(update={"database": settings.database.model_copy(update={"url": url}),
                                           "monitoring": mon})

    down = await check(at("postgresql+asyncpg://postgres@127.0.0.1:1/x"), cal, JUNE)
    assert [(c.name, c.ok) for c in down.checks] == [("database", False), ("migrations", False), ("channels", True),
                                                     ("calendar", True), ("spool", True)]
    assert down.checks[0].detail.startswith("无法连接数据库")
    assert "127.0.0.1" not in down.checks[0].detail  # the driver's words go to doctor and the log, not HTTP

    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept and never answer, like a hung server

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        hung = await check(at(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x", timeout=0.3), cal, JUNE)
    finally:
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()
    assert hung.checks[0].detail == "数据库 0.3 秒内没有应答" and not hung.ok

    missing = tmp_path / "nowhere.db"
    gone = await check(at(f"sqlite+aiosqlite:///{missing}"), cal, JUNE)
    assert "数据库文件不存在" in gone.checks[0].detail and not missing.exists()  # the check creates nothing


async def test_an_enabled_channel_must_be_configured_and_running(settings):
    ding = settings.channels.dingtalk.model_copy(update={"enabled": True, "app_key": "k"})
    incomplete = settings.model_copy(update={"channels": settings.channels.model_copy(update={"dingtalk": ding})})
    result = await check(incomplete, WorkCalendar(), JUNE, running_channels=[])
    [channels] = [c for c in result.checks if c.name == "channels"]
    assert not channels.ok and "缺少密钥 channels.dingtalk.app_secret" in channels.detail
    assert "渠道 dingtalk 已启用但未运行" in channels.detail
    ding = ding.model_copy(update={"app_secret": SecretStr("s")})
    complete = settings.model_copy(update={"channels": settings.channels.model_copy(update={"dingtalk": ding})})
    result = await check(complete, WorkCalendar(), JUNE, running_channels=["dingtalk"])
    assert result.ok


async def test_metrics_count_turns_deliveries_sweeps_and_read_the_gauges_at_scrape_time(june):
    app, client, clock = june
    before = await scrape(client)

    def delta(after: dict, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    await bind_staff(app, "staff:wang", "wang-leader")
    number = await file_first_appeal(Chat(app, "ent-1"))
    async with app.runtime.uow() as uow:
        await uow.outbox.add([OutboundMessage(ConversationKey("tg", "u1"), "通知一"),
                              OutboundMessage(ConversationKey("tg", "u2"), "通知二")], clock.now())
        await uow.commit()
    from bot.services.delivery import DeliveryError
    app.outbox.senders["tg"].failures = [DeliveryError("HTTP 502"), DeliveryError("blocked", permanent=True)]
    assert await app.outbox.run_once() == 0
    await run_pass(app.sweeps)

    after = await scrape(client)
    assert delta(after, "qihu_turns_total", channel="web", outcome="ok") == 8  # file_first_appeal's 8 turns
    assert delta(after, "qihu_turn_seconds_count", channel="web") == 8
    assert delta(after, "qihu_turn_seconds_bucket", channel="web", le="+Inf") == 8
    assert delta(after, "qihu_delivery_attempts_total", channel="tg", status="failed") == 2
    assert delta(after, "qihu_delivery_failures_total", channel="tg", status="retry") == 1
    assert delta(after, "qihu_delivery_failures_total", channel="tg", status="dead") == 1
    assert delta(after, "qihu_sweep_runs_total", sweep="digest_leader", result="ok") == 1
    assert delta(after, "qihu_sweep_seconds_count", sweep="digest_leader") == 1
    assert delta(after, "qihu_sweep_messages_total", sweep="digest_leader") == 1  # the leader's digest
    # Gauges: read from the database for this scrape.
    assert after[("qihu_outbox_messages", (("channel", "tg"), ("status", "pending")))] == 1
    assert after[("qihu_outbox_messages", (("channel", "tg"), ("status", "dead")))] == 1
    assert after[("qihu_appeals", (("status", "submitted"),))] == 1
    assert after[("qihu_appeals_overdue", ())] == 0
    assert after[("qihu_up_database", ())] == 1 and after[("qihu_ready", ())] == 1
    assert after[("qihu_calendar_covered_days", ())] > 60
    assert not [k for k in after if k[0] == "qihu_calendar_missing_years"]
    assert number

    clock.at = DECEMBER
    december = await scrape(client)
    assert december[("qihu_calendar_missing_years", (("year", str(UNCOVERED)),))] == 1
    assert december[("qihu_calendar_covered_days", ())] == (date(UNCOVERED, 1, 1) - DECEMBER.date()).days
    assert december[("qihu_ready", ())] == 0


async def test_metrics_answer_loopback_only_unless_a_bearer_token_is_configured(june, settings):
    _, client, clock = june
    r = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})  # through a proxy
    assert r.status == 403 and "只对本机开放" in (await r.json())["error"]
    assert not is_loopback("203.0.113.9") and is_loopback("::1") and not is_loopback(None)

    mon = settings.monitoring.model_copy(update={"metrics_token": SecretStr("scrape-token")})
    app = await start_app(settings.model_copy(update={"monitoring": mon}), clock)
    try:
        async with TestClient(TestServer(make_web_app(app))) as c:
            remote = {"X-Forwarded-For": "203.0.113.9"}
            r = await c.get("/metrics", headers={**remote, "Authorization": "Bearer wrong"})
            assert r.status == 401 and "令牌错误" in (await r.json())["error"]
            r = await c.get("/metrics", headers={**remote, "Authorization": "Bearer scrape-token"})
            assert r.status == 200 and "qihu_turns_total" in await r.text()
    finally:
        await app.close()


async def digest_texts(app, clock, moment: datetime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    clock.at = moment
    async with app.database.engine.connect() as conn:
        last = (await conn.execute(text("SELECT coalesce(max(id), 0) FROM outbox"))).scalar_one()
    await run_pass(app.sweeps)
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(t.outbox.select().where(t.outbox.c.id > last))).all()
    # Early in a month last month's report arrives in the same pass (issue 17 §6): only the digests here.
    return {r.recipient: r.body["text"] for r in rows if r.recipient in ("staff:wang", "staff:chen")
            and "企业服务指数报告" not in r.body["text"]}


@pytest.mark.parametrize("moment", [NOVEMBER, DECEMBER], ids=["november", "december"])
async def test_leaders_and_dispatchers_read_one_calendar_line_from_november(settings, moment):
    clock = FrozenClock(moment)
    app = await start_app(settings, clock)
    try:
        await bind_staff(app, "staff:wang", "wang-leader")
        await bind_staff(app, "staff:chen", "chen-dispatch")
        sent = await digest_texts(app, clock, moment)
        line = f"📅 缺少 {UNCOVERED} 年法定节假日数据"
        assert set(sent) == {"staff:wang", "staff:chen"}  # the pool is empty: the alarm alone sends it
        for who, body in sent.items():
            assert [ln for ln in body.split("\n") if ln.startswith(line)] == [
                f"{line}，该年期限暂按周一至周五计算；请信息管理员按国务院办公厅放假通知录入 "
                f"{UNCOVERED} 年节假日。"], who
            assert "qihu " not in body  # no shell command in a leader's or dispatcher's chat
    finally:
        await app.close()


async def test_no_calendar_line_in_june(settings):
    clock = FrozenClock(JUNE)
    app = await start_app(settings, clock)
    try:
        await bind_staff(app, "staff:wang", "wang-leader")
        await bind_staff(app, "staff:chen", "chen-dispatch")
        await file_first_appeal(Chat(app, "ent-1"))  # something in the pool, so the pool digest goes out
        sent = await digest_texts(app, clock, JUNE)
        assert set(sent) == {"staff:wang", "staff:chen"}
        assert not any("节假日数据" in body for body in sent.values())
    finally:
        await app.close()


@pytest.mark.parametrize(("moment", "warned"), [(DECEMBER, True), (JUNE, False)])
async def test_start_up_warns_while_holiday_data_is_missing(settings, caplog, moment, warned):
    quiet = settings.model_copy(update={
        "scheduler": settings.scheduler.model_copy(update={"enabled": False}),
        "server": settings.server.model_copy(update={"port": 0})})
    app = await start_app(quiet, FrozenClock(moment))
    with caplog.at_level(logging.WARNING, logger="bot.health"):
        runner = await serve(app)
    await runner.cleanup()
    await app.close()
    hits = [r.getMessage() for r in caplog.records if f"no holiday data for {UNCOVERED}" in r.getMessage()]
    assert bool(hits) == warned
    if warned:
        assert f"qihu calendar show {UNCOVERED}" in hits[0]


def run_cli(argv: list[str], capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    try:
        cli.main(["--config", str(EXAMPLE_CONFIG), *argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return code, capsys.readouterr().out


def test_doctor_prints_the_checks_and_masked_settings_and_fails_in_december(database_url, monkeypatch, capsys):
    monkeypatch.setenv("QIHU_DATABASE__URL", database_url)
    monkeypatch.setenv("QIHU_WEBCHAT__PORTAL_SECRET", "portal-secret-value")
    monkeypatch.setattr(ops_cli, "clock", FrozenClock(JUNE))
    code, out = run_cli(["doctor"], capsys)
    assert code == 0, out
    assert f"配置文件：{EXAMPLE_CONFIG}" in out and "全部检查通过。" in out
    for name in ("database", "migrations", "channels", "calendar"):
        assert any(line.split()[:2] == [name, "正常"] for line in out.splitlines()), name
    assert "portal-secret-value" not in out
    assert any(line.split() == ["webchat", "portal_secret", "已设置（已隐藏）"] for line in out.splitlines())
    assert any(line.split() == ["channels.dingtalk", "app_secret", "未设置"] for line in out.splitlines())

    monkeypatch.setattr(ops_cli, "clock", FrozenClock(DECEMBER))
    code, out = run_cli(["doctor"], capsys)
    assert code == 1
    assert any(line.split()[:2] == ["calendar", "失败"] for line in out.splitlines())
    assert "未通过：calendar" in out


def test_calendar_show_lists_days_with_their_source(tmp_path, monkeypatch, capsys):
    code, out = run_cli(["calendar", "show", str(COVERED)], capsys)
    assert code == 0 and "放假" in out and "调休上班" in out
    assert any(line.split()[2:4] == ["国庆节", "chinesecalendar"] for line in out.splitlines())

    code, out = run_cli(["calendar", "show", str(UNCOVERED)], capsys)
    assert code == 1 and f"{UNCOVERED} 年没有节假日数据" in out

    days = tmp_path / "days.toml"
    days.write_text(f'years = [{UNCOVERED}]\nholidays = ["{UNCOVERED}-01-01"]\n'
                    f'workdays = ["{UNCOVERED}-02-06"]\n', encoding="utf-8")
    monkeypatch.setenv("QIHU_CALENDAR__EXTRA_DAYS_FILE", str(days))
    code, out = run_cli(["calendar", "show", str(UNCOVERED)], capsys)
    assert code == 0, out
    lines = out.splitlines()
    assert [ln.split()[0] for ln in lines if ln.endswith(str(days))] == [f"{UNCOVERED}-01-01", f"{UNCOVERED}-02-06"]
    assert "放假（1 天）" in out and "调休上班（1 天）" in out
