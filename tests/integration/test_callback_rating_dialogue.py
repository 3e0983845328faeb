"""回访 by staff as the enterprise's rating: 电话 / 现场, stored with its source, counted in 统计 and the report."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.appeal import Status
from storage import tables as t
from tests.conftest import Chat
from tests.integration.test_evaluation_dialogue import resolved_appeal
from tests.integration.test_filing_dialogue import count
from tests.integration.test_handling_dialogue import appeal


async def second_resolved(chat: Chat, dispatcher: Chat, li: Chat, clock) -> str:  # type: ignore[no-untyped-def]
    await chat.say("我要反映")
    await chat.say("厂区路灯坏了一个月，晚上工人下班不安全，希望尽快修复")
    await chat.say("1")
    done = await chat.say("1")
    number = done.split("编号 ")[1].split("。")[0]
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    clock.advance(days=1)
    assert "已办结" in await li.say(f"办结 {number} 已解决 已更换路灯")
    return number


async def test_phone_callback_records_the_enterprises_rating_with_its_source(app, chat, clock):
    number, dispatcher, _ = await resolved_appeal(app, chat, clock)
    # The enterprise does not rate in chat; the centre calls it.
    assert "本月回访 0 件" in await dispatcher.say("回访")
    reply = await dispatcher.say(f"回访 {number} 电话 满意 已解决 企业表示增容后用电正常")
    assert reply == f"已按电话回访记录企业对诉求 {number} 的评价：满意，已解决，意见：企业表示增容后用电正常。"
    a = await appeal(app, number)
    assert a.status == Status.CLOSED
    async with app.runtime.uow() as uow:
        [r] = await uow.evaluation.ratings(a.id)
        [c] = await uow.evaluation.callbacks(a.id)
    assert (r.level, r.solved, r.comment, r.source, r.bad) == (4, "已解决", "企业表示增容后用电正常", "电话回访", False)
    assert (c.reason, c.method, c.satisfied, c.done_by) == ("manual", "电话", True, "chen-dispatch")
    async with app.database.engine.connect() as conn:
        e = t.appeal_events.c
        [event] = (await conn.execute(select(e.actor_id, e.data).where(e.appeal_id == a.id,
                                                                         e.action == "rate_good"))).all()
    assert event.actor_id == "chen-dispatch" and event.data["source"] == "电话回访"  # the timeline says who recorded it
    # It is the enterprise's rating of this round: the enterprise cannot rate it a second time.
    assert "本轮已评价过" in await chat.say(f"评价 {number} 5")
    stats = await dispatcher.say("统计 2026-11")
    assert "满意率 100.0%" in stats and "评价来源：企业自评 0，电话回访 1，现场回访 0（件）" in stats


async def test_onsite_callback_bad_rating_goes_to_verification_and_progress_shows_the_shares(app, chat, clock):
    number, dispatcher, li = await resolved_appeal(app, chat, clock)
    await dispatcher.say(f"回访 {number} 电话 非常满意")
    second = await second_resolved(chat, dispatcher, li, clock)
    reply = await dispatcher.say(f"回访 {second} 现场 2 未解决 路灯换了还是不亮")
    assert f"已按现场回访记录企业对诉求 {second} 的评价：不满意，未解决" in reply and "进入差评核实" in reply
    b = await appeal(app, second)
    assert b.status == Status.VERIFYING
    async with app.runtime.uow() as uow:
        [r] = await uow.evaluation.ratings(b.id)
    assert (r.level, r.source, r.bad) == (2, "现场回访", True)
    # Three tasks this month (two call-backs done, the 差评回访 still open); 30 % on site by the example config.
    tasks = await dispatcher.say("回访")
    assert second in tasks and "差评回访" in tasks
    assert "本月回访 3 件：电话已完成 1/2，现场已完成 1/1。" in tasks
    stats = await dispatcher.say("统计 2026-11")
    assert "评价来源：企业自评 0，电话回访 1，现场回访 1（件）" in stats


async def test_callback_rating_refused_when_not_ratable_and_nothing_stored(app, chat, clock):
    number, dispatcher, li = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number} 5")
    for answer in ("跳过", "跳过", "已解决"):
        await chat.say(answer)
    refused = await dispatcher.say(f"回访 {number} 电话 不满意 未解决")
    assert "本轮已评价过" in refused
    assert "只有县企业综合服务中心的调度员" in await li.say(f"回访 {number} 电话 满意")
    assert "请写明回访结果" in await dispatcher.say(f"回访 {number} 现场")
    async with app.database.engine.connect() as conn:
        sources = (await conn.execute(select(t.ratings.c.source))).scalars().all()
    assert sources == [None]  # the enterprise's own rating only
    assert await count(app, t.callbacks) == 0
