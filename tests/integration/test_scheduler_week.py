"""A frozen clock walks through the 2026 National Day week (holidays 10-01…10-07, make-up workday Sat 10-10):
every reminder, rating message and digest that should go out does, once, and nothing else does."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bot.domain.appeal import Action, Status
from scheduler.jobs import run_pass
from storage import tables as t
from tests.conftest import SHANGHAI, Chat, bind_staff, start_app
from tests.fakes import FrozenClock
from tests.integration.test_filing_dialogue import file_first_appeal

START = datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI)  # Wednesday, a working day before the holiday
END = date(2026, 10, 13)
# Times of day a pass runs in these tests: before, at and after the quiet-hour end and digest time.
PASS_TIMES = [time(0, 30), time(7, 30), time(8, 0), time(8, 30), time(9, 0), time(12, 0), time(19, 30), time(21, 0)]

LABELS = [
    ("【待分派超时】", "dispatch"), ("【未签收】", "signoff"), ("【即将到期】", "near_due"), ("【已超期】", "overdue"),
    ("【超期告警】", "leader"), ("【每日简报】", "digest_leader"), ("【今日待办】", "digest_todo"),
    ("【问题池】", "digest_pool"), ("尚未评价", "rating_reminder"),
    ("评价期已结束", "rating_expired"), ("企业服务指数报告", "report_auto"),
]


def label(text: str) -> str:
    return next(name for mark, name in LABELS if mark in text)


def steps(after: datetime, end: date = END):  # type: ignore[no-untyped-def]
    day = after.astimezone(SHANGHAI).date()
    while day <= end:
        for at in PASS_TIMES:
            moment = datetime.combine(day, at, tzinfo=SHANGHAI)
            if moment > after:
                yield moment
        day += timedelta(days=1)


async def setup_week(app, clock):  # type: ignore[no-untyped-def]
    """A waits in the pool; B is dispatched with 2 working days and never signed off; C is resolved."""
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    await bind_staff(app, "staff:wang", "wang-leader")
    a = await file_first_appeal(Chat(app, "ent-a"))
    b = await file_first_appeal(Chat(app, "ent-b"))
    c = await file_first_appeal(Chat(app, "ent-c"))
    assert "2026年10月09日" in await dispatcher.say(f"分派 {b} 供电 时限 2")  # 10-01…10-07 do not count
    await dispatcher.say(f"分派 {c} 供电")
    await li.say(f"签收 {c}")
    assert "已办结" in await li.say(f"办结 {c} 已解决 已完成增容，变压器已送电")
    async with app.runtime.uow() as uow:
        last = max([r.id for r in await uow.outbox.recent(None, 1)] or [0])
    return a, b, c, last


async def sent_since(app, after_id: int) -> list[tuple[datetime, str, str, dict]]:  # type: ignore[no-untyped-def]
    """(local time, recipient, label, body) of every outbox row after `after_id`."""
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(t.outbox).where(t.outbox.c.id > after_id).order_by(t.outbox.c.id))).all()
    return [(r.created_at.astimezone(SHANGHAI), r.recipient, label(r.body["text"]), r.body) for r in rows]


def day(d: str) -> date:
    return date.fromisoformat(f"2026-{d}")


WORKDAYS_IN_RANGE = [day("09-30"), day("10-08"), day("10-09"), day("10-10"), day("10-12"), day("10-13")]


def expected(a: str, b: str, c: str) -> set[tuple[date, str, str, str]]:
    """(local date, recipient, label, appeal or '') of everything the week must send."""
    out = {
        (day("10-01"), "ent-c", "rating_reminder", c),  # a calendar day later, holiday or not
        (day("10-07"), "ent-c", "rating_expired", c),  # the 7-day window ends
        (day("10-08"), "staff:li", "near_due", b),  # first working day before B's deadline 10-09
        (day("10-09"), "staff:chen", "dispatch", a),  # A: due to be dispatched by the end of 10-08
        (day("10-09"), "staff:li", "signoff", b),  # B: sign-off due by the end of 10-08
        (day("10-09"), "staff:chen", "signoff", b),
        (day("10-12"), "staff:wang", "leader", b),  # overdue 2 working days (10-10, 10-12)
        # The first working day after September and Q3 ended: both reports, to the leader (issue 17 §6).
        (day("10-08"), "staff:wang", "report_auto", "2026-09"),
        (day("10-08"), "staff:wang", "report_auto", "2026Q3"),
    }
    for d in (day("10-10"), day("10-12"), day("10-13")):  # overdue each working day, 10-11 Sunday held
        out |= {(d, "staff:li", "overdue", b), (d, "staff:chen", "overdue", b)}
    for d in WORKDAYS_IN_RANGE:
        out |= {(d, "staff:wang", "digest_leader", ""), (d, "staff:li", "digest_todo", ""),
                (d, "staff:chen", "digest_pool", "")}
    return out


def observed(rows, a: str, b: str, c: str) -> list[tuple[date, str, str, str]]:  # type: ignore[no-untyped-def]
    def which(text: str) -> str:
        return next((n for n in (a, b, c, "2026-09", "2026Q3") if n in text.split("\n")[0]), "")
    return [(at.date(), who, kind, "" if kind.startswith("digest") else which(body["text"]))
            for at, who, kind, body in rows]


async def walk(app, clock, after: datetime, *, until: date = END, twice: bool = False) -> None:  # type: ignore[no-untyped-def]
    for moment in steps(after, until):
        clock.at = moment
        await run_pass(app.sweeps)
        if twice:
            await run_pass(app.sweeps)


async def test_a_working_week_with_holiday_and_makeup_day(settings):
    clock = FrozenClock(START)
    app = await start_app(settings, clock)
    try:
        a, b, c, last = await setup_week(app, clock)
        await run_pass(app.sweeps)  # right after resolution: nothing more (the invitation came with 办结)
        await walk(app, clock, START)
        rows = await sent_since(app, last)
        seen = observed(rows, a, b, c)
        assert len(seen) == len(set(seen)), "something was sent twice"
        assert set(seen) == expected(a, b, c)
        by_kind = {(r[1], r[2], r[0].date()): r for r in rows}
        # Quiet hours end at 08:00 and digests start at 08:30 on working days.
        assert by_kind[("staff:li", "overdue", day("10-10"))][0].time() == time(8, 0)
        assert by_kind[("staff:wang", "digest_leader", day("10-08"))][0].time() == time(8, 30)
        # Each message says which appeal, by when, and the command that acts on it.
        reminder = by_kind[("ent-c", "rating_reminder", day("10-01"))][3]
        assert f"评价 {c}" in reminder["text"] and "10月07日" in reminder["text"]
        levels = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
        assert [ch["label"] for ch in reminder["choices"]] == levels
        assert [ch["value"] for ch in reminder["choices"]] == [f"评价 {c} {level}" for level in levels]
        signoff = by_kind[("staff:li", "signoff", day("10-09"))][3]["text"]
        assert b in signoff and "2026年10月08日" in signoff and f"签收 {b}" in signoff
        overdue = by_kind[("staff:li", "overdue", day("10-12"))][3]["text"]
        assert "2026年10月09日" in overdue and "已超期 2 个工作日" in overdue and f"签收 {b}" in overdue
        assert f"分派 {a}" in by_kind[("staff:chen", "dispatch", day("10-09"))][3]["text"]
        assert f"督办 {b}" in by_kind[("staff:wang", "leader", day("10-12"))][3]["text"]
        near = by_kind[("staff:li", "near_due", day("10-08"))][3]["text"]
        assert "2026年10月09日" in near and f"签收 {b}" in near
        digest = by_kind[("staff:wang", "digest_leader", day("10-12"))][3]["text"]
        assert digest.index("超期 1 件") < digest.index("新增")  # exceptions first
        assert b in digest and "国网示范县供电公司 1/1/0" in digest and len(digest) < 600
        assert "1 个工作日内到期 1 件" in by_kind[("staff:wang", "digest_leader", day("10-08"))][3]["text"]
        async with app.runtime.uow() as uow:
            closed = await uow.appeals.get(c)
            events = await uow.appeals.events(c)
        assert closed.status == Status.CLOSED and closed.flags["rating"] == "未评价"
        assert events[-1].action == Action.RATING_EXPIRED and events[-1].note == "未评价"
        assert events[-1].at == datetime(2026, 10, 7, 9, 0, tzinfo=SHANGHAI)
    finally:
        await app.close()


async def test_restart_and_downtime_change_nothing_sent(settings):
    """The same week, but the process restarts on Friday 10-09 at 12:00, is down on Monday 10-12 from
    06:00 to 10:00 (missing the 07:30, 08:00, 08:30 and 09:00 passes), and every pass runs twice."""
    clock = FrozenClock(START)
    app = await start_app(settings, clock)
    try:
        a, b, c, last = await setup_week(app, clock)
        await run_pass(app.sweeps)
        await walk(app, clock, START, until=day("10-09"), twice=True)
    finally:
        await app.close()
    app = await start_app(settings, clock)  # restart: a new process, same database
    try:
        await walk(app, clock, clock.at, until=day("10-11"), twice=True)
        clock.at = datetime(2026, 10, 12, 0, 30, tzinfo=SHANGHAI)
        await run_pass(app.sweeps)
    finally:
        await app.close()
    clock.at = datetime(2026, 10, 12, 10, 0, tzinfo=SHANGHAI)  # back after four hours down
    app = await start_app(settings, clock)
    try:
        await run_pass(app.sweeps)
        await run_pass(app.sweeps)
        rows = await sent_since(app, last)
        late = [r for r in rows if r[0] == clock.at]
        await walk(app, clock, clock.at, twice=True)
        seen = observed(await sent_since(app, last), a, b, c)
    finally:
        await app.close()
    assert len(seen) == len(set(seen)), "something was sent twice"
    assert set(seen) == expected(a, b, c)
    # What fell due while down went out once, on start-up.
    assert sorted((who, kind) for _, who, kind, _ in late) == sorted([
        ("staff:li", "overdue"), ("staff:chen", "overdue"), ("staff:wang", "leader"),
        ("staff:wang", "digest_leader"), ("staff:li", "digest_todo"), ("staff:chen", "digest_pool")])


async def test_quiet_hours_and_non_workdays_are_configurable(settings):
    base = settings.scheduler
    settings = settings.model_copy(update={"scheduler": base.model_copy(update={
        "quiet_start": "00:00", "quiet_end": "00:00", "hold_on_non_workdays": False})})
    clock = FrozenClock(START)
    app = await start_app(settings, clock)
    try:
        a, b, c, last = await setup_week(app, clock)
        clock.at = datetime(2026, 10, 9, 23, 59, 59, tzinfo=SHANGHAI) + timedelta(hours=2)  # Sat 10-10 01:59
        await run_pass(app.sweeps)
        seen = observed(await sent_since(app, last), a, b, c)
        kinds = {(who, kind) for _, who, kind, _ in seen}
        assert ("staff:li", "overdue") in kinds and ("staff:chen", "dispatch") in kinds  # no quiet hours
        assert not any(k.startswith("digest") for _, k in kinds)  # digests wait for their time
        clock.at = datetime(2026, 10, 11, 10, 0, tzinfo=SHANGHAI)  # Sunday: held no longer
        await run_pass(app.sweeps)
        sunday = [s for s in observed(await sent_since(app, last), a, b, c) if s[0] == day("10-11")]
        assert {(who, kind) for _, who, kind, _ in sunday} == {("staff:li", "overdue"), ("staff:chen", "overdue")}
    finally:
        await app.close()
