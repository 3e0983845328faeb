"""A newly assigned handler is told at once, before they ever message the bot (issue 15 §13): a configured
DingTalk userid, a userid found by mobile (once), a mobile nobody knows, Telegram before /start."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.config import ChannelsConfig, Settings, TelegramConfig
from bot.messages import HELD_CHANNEL
from bot.services import delivery
from bot.services.binding import issue_bind_code
from bot.staff_reach import directory_channel, look_up_once
from storage import tables as t
from tests.conftest import Chat, bind_staff, start_app
from tests.fake_servers import FakeDingTalk, FakeTelegram
from tests.integration.dingtalk_env import DingUser, delivered_text, make_env
from tests.integration.test_filing_dialogue import file_first_appeal

HANDLER_MOBILE = "13900000002"


def with_staff(settings: Settings, staff_id: str, **change: Any) -> Settings:
    staff = [s.model_copy(update=change) if s.id == staff_id else s for s in settings.staff]
    return settings.model_copy(update={"staff": staff})


def li_gdgs(**change: Any):  # type: ignore[no-untyped-def]
    return lambda settings: with_staff(settings, "li-gdgs", **change)


@pytest.fixture
async def fake_ding():
    server = await FakeDingTalk().start()
    yield server
    await server.close()


async def held_rows(app) -> list[Any]:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        stmt = select(t.outbox).where(t.outbox.c.channel == HELD_CHANNEL).order_by(t.outbox.c.id)
        return list((await conn.execute(stmt)).all())


async def filed_and_dispatched(app) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """An enterprise files on the web chat; the centre's dispatcher (web chat) sends it to 供电公司."""
    number = await file_first_appeal(Chat(app, "ent-1"))
    dispatcher = await bind_staff(app, "disp-1", "chen-dispatch")
    reply = await dispatcher.say(f"分派 {number} 供电公司")
    assert "交由国网示范县供电公司主办" in reply
    return number, reply


def new_tasks(fake: FakeDingTalk, to: str) -> list[str]:
    return [delivered_text(d.msg) for d in fake.state.delivered if d.to == to and "【新交办】" in delivered_text(d.msg)]


async def test_a_configured_userid_is_told_at_once_and_is_the_handler_when_they_answer(settings, clock, fake_ding):
    env = await make_env(li_gdgs(dingtalk_userid="li-ding")(settings), clock, fake_ding)
    try:
        number, reply = await filed_and_dispatched(env.app)
        assert "尚未绑定" not in reply
        await env.app.outbox.run_once()  # the same pass that sends every notice of this turn
        [task] = new_tasks(fake_ding, "li-ding")
        assert number in task and f"签收 {number}" in task
        # The first time 李工 writes, the bot already knows him: no 绑定 needed.
        handler = DingUser(env, "li-ding", "李工")
        assert number in await handler.say("待办")
        assert "已签收诉求" in await handler.say(f"签收 {number}")
        assert await held_rows(env.app) == []
    finally:
        await env.close()


async def test_a_handler_found_by_mobile_is_looked_up_once_and_told_at_once(settings, clock, fake_ding):
    fake_ding.state.directory[HANDLER_MOBILE] = "li-ding"
    env = await make_env(li_gdgs(mobile=HANDLER_MOBILE)(settings), clock, fake_ding)
    try:
        channel = directory_channel(env.app)
        assert channel is not None
        assert await look_up_once(env.app, channel) == 1
        # chen-dispatch's example mobile is not in this directory: looked up too, and the miss is kept.
        assert sorted(fake_ding.state.lookups) == sorted([HANDLER_MOBILE, "13800000001"])
        await look_up_once(env.app, channel)
        clock.advance(hours=2)
        await look_up_once(env.app, channel)
        assert sorted(fake_ding.state.lookups) == sorted([HANDLER_MOBILE, "13800000001"])  # done once
        async with env.app.runtime.uow() as uow:
            found = await uow.directory.lookup("li-gdgs", "dingtalk")
        assert found is not None and found.status == "found" and found.user_id == "li-ding"

        number, reply = await filed_and_dispatched(env.app)
        assert "尚未绑定" not in reply
        await env.app.outbox.run_once()
        [task] = new_tasks(fake_ding, "li-ding")
        assert number in task
    finally:
        await env.close()


async def test_a_lookup_that_fails_is_retried_later_and_then_delivers_what_was_held(settings, clock, fake_ding):
    fake_ding.state.directory[HANDLER_MOBILE] = "li-ding"
    fake_ding.state.lookup_failures = [(503, {"errcode": -1, "errmsg": "系统繁忙"}, {})]
    only_li = with_staff(li_gdgs(mobile=HANDLER_MOBILE)(settings), "chen-dispatch", mobile="")
    env = await make_env(only_li, clock, fake_ding)
    try:
        channel = directory_channel(env.app)
        assert channel is not None
        assert await look_up_once(env.app, channel) == 0  # the directory was busy
        # Meanwhile an appeal is assigned: the lookup is still to come, so the dispatcher is not warned,
        # and the notice waits for 李工.
        number, reply = await filed_and_dispatched(env.app)
        assert "尚未绑定" not in reply
        assert [r.recipient for r in await held_rows(env.app)] == ["li-gdgs"]
        assert await look_up_once(env.app, channel) == 0  # not due yet: no call
        calls = len(fake_ding.state.lookups)
        clock.advance(minutes=6)
        assert await look_up_once(env.app, channel) == 1
        assert len(fake_ding.state.lookups) == calls + 1
        await env.app.outbox.run_once()
        [task] = new_tasks(fake_ding, "li-ding")
        assert number in task
        assert await held_rows(env.app) == []
    finally:
        await env.close()


async def test_a_mobile_the_directory_does_not_know_warns_the_dispatcher_and_binding_delivers(
        settings, clock, fake_ding):
    env = await make_env(li_gdgs(mobile=HANDLER_MOBILE)(settings), clock, fake_ding)
    try:
        dispatcher = DingUser(env, "disp-ding", "陈晓")
        await bind_staff(env.app, "disp-ding", "chen-dispatch", channel="dingtalk")
        channel = directory_channel(env.app)
        assert channel is not None
        assert await look_up_once(env.app, channel) == 0
        told = await dispatcher.replies()
        assert "李工（国网示范县供电公司）的手机号 139****0002 在钉钉通讯录中未找到" in told
        assert "qihu staff bind-code li-gdgs" in told
        clock.advance(hours=1)
        await look_up_once(env.app, channel)
        assert "未找到" not in await dispatcher.replies()  # told once, not at every pass

        number = await file_first_appeal(Chat(env.app, "ent-1"))
        reply = await dispatcher.say(f"分派 {number} 供电公司")
        assert "交由国网示范县供电公司主办" in reply
        assert "李工（国网示范县供电公司）尚未绑定任何渠道，无法即时通知" in reply
        assert "qihu staff bind-code li-gdgs" in reply and "绑定 绑定码" in reply
        [held] = await held_rows(env.app)
        assert held.recipient == "li-gdgs" and number in held.body["text"]

        async with env.app.runtime.uow() as uow:
            code = await issue_bind_code(uow, "li-gdgs", clock.now(), timedelta(hours=72))
            await uow.commit()
        handler = DingUser(env, "li-new", "李工")
        answer = await handler.say(f"绑定 {code}")
        assert "绑定成功" in answer and "1 条通知" in answer
        assert answer.index("【新交办】") < answer.index("绑定成功")  # the held task first, then the answer
        assert await held_rows(env.app) == []
        assert "已签收诉求" in await handler.say(f"签收 {number}")
    finally:
        await env.close()


async def test_zzd_finds_the_account_by_mobile_and_sends_a_work_notice(settings, clock, fake_ding):
    fake_ding.state.directory[HANDLER_MOBILE] = "7788"
    env = await make_env(li_gdgs(mobile=HANDLER_MOBILE)(settings), clock, fake_ding, dialect="zzd",
                         tenant_id="12345", signature="if_present")
    try:
        channel = directory_channel(env.app)
        assert channel is not None and channel.name == "zzd"
        assert await look_up_once(env.app, channel) == 1
        assert fake_ding.state.rejected == []  # every call signed as the gateway wants
        number, reply = await filed_and_dispatched(env.app)
        assert "尚未绑定" not in reply
        await env.app.outbox.run_once()
        [task] = [d for d in fake_ding.state.delivered if d.via == "zzd" and d.to == "7788"]
        assert number in delivered_text(task.msg)
    finally:
        await env.close()


TOKEN = "123456:TEST-token_abc"


async def test_telegram_handler_who_never_pressed_start_gets_the_task_when_bound(settings, clock):
    fake = await FakeTelegram(TOKEN, clock).start()
    cfg = TelegramConfig(enabled=True, token=SecretStr(TOKEN), mode="polling", base_url=fake.base_url)
    app = await start_app(settings.model_copy(update={"channels": ChannelsConfig(telegram=cfg)}), clock)

    async def frozen_sleep(seconds: float) -> None:  # the sender's wait for the per-chat limit moves the clock
        clock.advance(seconds=seconds)

    app.channels[0].sender.sleep = frozen_sleep
    try:
        number, reply = await filed_and_dispatched(app)
        assert "李工（国网示范县供电公司）尚未绑定任何渠道，无法即时通知" in reply
        assert "qihu staff bind-code li-gdgs" in reply
        await app.outbox.run_once()
        assert fake.sent() == []  # nobody to send it to yet: it is held, not lost
        assert len(await held_rows(app)) == 1

        async with app.runtime.uow() as uow:
            code = await issue_bind_code(uow, "li-gdgs", clock.now(), timedelta(hours=72))
            await uow.commit()
        handler = Chat(app, "4242", "telegram")
        assert "绑定成功" in await handler.say(f"/bind {code}")
        for _ in range(5):  # one message a second per chat: a refused send waits its backoff
            if len(fake.sent("4242")) == 2:
                break
            await app.outbox.run_once()
            clock.advance(minutes=1)
        texts = [m["text"] for m in fake.sent("4242")]
        assert "【新交办】" in texts[0] and number in texts[0] and "绑定成功" in texts[1]
        assert await held_rows(app) == []
    finally:
        await app.close()
        await fake.close()


async def test_a_unit_without_any_handler_is_named_to_the_dispatcher(app):
    number = await file_first_appeal(Chat(app, "ent-1"))
    dispatcher = await bind_staff(app, "disp-1", "chen-dispatch")
    reply = await dispatcher.say(f"分派 {number} 供电公司 协办 应急管理局")  # nobody of 应急管理局 is listed
    assert "交由国网示范县供电公司主办" in reply
    assert "⚠ 县应急管理局尚未登记承办人，交办通知无人接收" in reply


async def test_a_web_chat_page_that_read_past_the_held_notice_still_shows_it(app, clock):
    number, reply = await filed_and_dispatched(app)
    assert "周科长" not in reply
    other = await bind_staff(app, "disp-1", "chen-dispatch")
    reply = await other.say(f"转办 {number} 人社局 企业问的是稳岗补贴")
    assert "周科长（县人力资源和社会保障局）尚未绑定任何渠道" in reply
    page = Chat(app, "zhou-page")  # 周科长 opens the web chat before anyone gave him a code
    await page.say("你好")
    async with app.runtime.uow() as uow:
        seen = max(r.id for r in await delivery.mailbox(uow, page.key, 0, 50))
        code = await issue_bind_code(uow, "zhou-rsj", clock.now(), timedelta(hours=1))
        await uow.commit()
    assert "1 条通知" in await page.say(f"绑定 {code}")
    async with app.runtime.uow() as uow:
        shown = [r.body["text"] for r in await delivery.mailbox(uow, page.key, seen, 50)]
    assert "【新交办】" in shown[0] and number in shown[0] and "绑定成功" in shown[1]


async def test_an_automatic_dispatch_tells_the_centre_who_could_not_be_told(settings, clock):
    auto = settings.model_copy(update={"dispatch": settings.dispatch.model_copy(
        update={"auto_categories": ["水电气能源"]})})
    app = await start_app(auto, clock)
    try:
        dispatcher = await bind_staff(app, "disp-1", "chen-dispatch")
        number = await file_first_appeal(Chat(app, "ent-1"))  # 水电气能源 → 供电公司 by the routing rule
        async with app.runtime.uow() as uow:
            rows = await delivery.mailbox(uow, dispatcher.key, 0, 50)
        told = "\n".join(r.body["text"] for r in rows)
        assert f"【自动分派】{number} 已按规则交由国网示范县供电公司主办，但有人未能收到通知" in told
        assert "李工（国网示范县供电公司）尚未绑定任何渠道" in told
        assert [r.recipient for r in await held_rows(app)] == ["li-gdgs"]
    finally:
        await app.close()
