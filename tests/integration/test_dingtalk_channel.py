"""The DingTalk / 浙政钉 channel end to end: signed callbacks in, replies through the fake DingTalk out."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.channels.dingtalk.api import DingTalkApi
from bot.domain.appeal import Source, Status
from bot.messages import ConversationKey, OutboundMessage
from storage import tables as t
from tests.conftest import conversation_state
from tests.fake_servers import RECORD_THEN_500, FakeDingTalk
from tests.integration.dingtalk_env import DingUser, make_env

PROBLEM = "我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复，影响投产"
USCC = "91330825MA2DH4KX39"


async def count(app, table) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


@pytest.fixture
async def fake_ding():
    server = await FakeDingTalk().start()
    yield server
    await server.close()


@pytest.fixture
async def ding(settings, clock, fake_ding):
    env = await make_env(settings, clock, fake_ding)
    yield env
    await env.close()


async def file_up_to_summary(user: DingUser) -> None:
    assert "企业全称" in await user.say(PROBLEM)
    assert "统一社会信用代码" in await user.say("示范精密机械有限公司")
    assert "联系人姓名" in await user.say(USCC)
    assert "手机号" in await user.say("张伟")
    assert "乡镇" in await user.say("138 0013 8000")
    reply = await user.say("溪口镇")
    assert "建议归入" in reply
    assert "dtmd://dingtalkclient/sendMessage?content=" in reply and "\n1. [水电气能源" in reply
    summary = await user.say("1")  # the number works as well as the tap
    assert "请确认" in summary and "溪口镇" in summary


async def test_whole_filing_conversation_over_dingtalk(ding):
    user = DingUser(ding, "user001")
    await file_up_to_summary(user)
    done = await user.tap("确认提交")  # one tap sends "确认提交" back as text
    assert "诉求已登记，编号 QH20261125-0001" in done
    async with ding.app.runtime.uow() as uow:
        appeal = await uow.appeals.get("QH20261125-0001")
    assert appeal.status == Status.SUBMITTED and appeal.source == Source.DINGTALK
    assert appeal.filer_channel == "dingtalk" and appeal.filer_external_id == "user001"
    # Every reply went through the sessionWebhook, @-mentioning the sender.
    vias = {d.via for d in ding.fake.state.delivered}
    assert vias == {"session"}
    assert all(d.msg["at"] == {"atUserIds": ["user001"]} for d in ding.fake.state.delivered)
    assert ding.fake.state.token_calls == 0


async def test_missing_or_bad_signature_and_replay_are_refused_and_store_nothing(ding):
    user = DingUser(ding, "user001")
    payload = user.payload(PROBLEM)
    resp = await user.post(payload, headers={})
    assert resp.status == 401 and "签名" in (await resp.json())["error"]
    bad = ding.signed_headers() | {"sign": "AAAA" + ding.signed_headers()["sign"][4:]}
    assert (await user.post(payload, headers=bad)).status == 403
    stale = ding.signed_headers(ding.now_ms() - 3601 * 1000)  # correctly signed, but more than an hour old
    resp = await user.post(payload, headers=stale)
    assert resp.status == 403 and "重放" in (await resp.json())["error"]
    future = ding.signed_headers(ding.now_ms() + 3601 * 1000)
    assert (await user.post(payload, headers=future)).status == 403
    # A malformed timestamp is a bad request, not a missing credential (issue 14 §6).
    assert (await user.post(payload, headers={"timestamp": "abc", "sign": "x"})).status == 400
    await ding.channel.drain()
    for table in (t.inbound_messages, t.outbox, t.conversations, t.appeals):
        assert await count(ding.app, table) == 0
    assert ding.fake.state.delivered == []


async def test_malformed_bodies_get_400_not_500(ding):
    user = DingUser(ding, "user001")
    resp = await ding.client.post("/channels/dingtalk/callback", data=b"{not json", headers=ding.signed_headers())
    assert resp.status == 400
    resp = await ding.client.post("/channels/dingtalk/callback", data=b"[1]", headers=ding.signed_headers())
    assert resp.status == 400
    payload = user.payload("你好")
    del payload["msgId"]
    resp = await user.post(payload)
    assert resp.status == 400 and (await resp.json())["error"] == "缺少 msgId 或发送人。"
    # A sender id longer than the database keeps (found by fuzzing on PostgreSQL, where it was a 503).
    resp = await user.post(user.payload("你好", senderStaffId="x" * 129))
    assert resp.status == 400 and (await resp.json())["error"] == "发送人标识超过 128 个字符。"
    await ding.channel.drain()
    for table in (t.inbound_messages, t.outbox, t.conversations):
        assert await count(ding.app, table) == 0


async def test_signature_modes(settings, clock, fake_ding):
    env = await make_env(settings, clock, fake_ding, signature="if_present")
    try:
        user = DingUser(env, "user002")
        assert (await user.post(user.payload("帮助"), headers={})).status == 200
        bad = env.signed_headers() | {"sign": "wrong"}
        assert (await user.post(user.payload("帮助"), headers=bad)).status == 403  # present → checked
    finally:
        await env.close()
    env = await make_env(settings, clock, fake_ding, signature="off")
    try:
        user = DingUser(env, "user003")
        assert (await user.post(user.payload("帮助"), headers={"sign": "wrong", "timestamp": "1"})).status == 200
    finally:
        await env.close()


async def test_same_msg_id_twice_files_one_appeal_and_replies_once(ding):
    user = DingUser(ding, "user001")
    await file_up_to_summary(user)
    # DingTalk re-sends a slow message after about a minute: same msgId, even at the same time.
    payload = user.payload("确认提交", "msgConfirm==")
    first, second = await asyncio.gather(user.post(payload), user.post(payload))
    assert first.status == second.status == 200
    replies = await user.replies()
    assert replies.count("诉求已登记") == 1
    ding.clock.advance(seconds=61)
    again = user.payload("确认提交", "msgConfirm==")
    assert (await user.post(again)).status == 200
    assert await user.replies() == ""
    assert await count(ding.app, t.appeals) == 1


async def test_picture_rich_text_file_and_audio_are_understood(ding):
    user = DingUser(ding, "user001")
    reply = await user.say("", msgtype="audio", text=None, content={
        "downloadCode": "aud1", "duration": 4000, "recognition": PROBLEM})
    assert "企业全称" in reply  # the recognised speech started a filing
    reply = await user.say("", msgtype="picture", text=None, content={"downloadCode": "pic1"})
    assert "已收到附件" in reply or "企业全称" in reply
    reply = await user.say("", msgtype="richText", text=None,
                           content={"richText": [{"text": "示范精密机械有限公司"},
                                                 {"type": "picture", "downloadCode": "pic2"}]})
    assert "统一社会信用代码" in reply
    reply = await user.say("", msgtype="richText", text=None, richText={"richTextList": [{"text": USCC}]})
    assert "联系人姓名" in reply
    reply = await user.say("", msgtype="file", text=None, content={"downloadCode": "f1", "fileName": "发票.pdf"})
    assert "企业全称" not in reply and reply  # an answer, and the dialogue did not restart
    state = await conversation_state(ding.app, ConversationKey("dingtalk", "user001"))
    refs = [a["ref"] for a in state.data.get("attachments", [])]
    assert {"pic1", "pic2", "f1"} <= set(refs)


async def test_unknown_message_type_gets_a_polite_answer_once(ding):
    user = DingUser(ding, "user001")
    payload = user.payload("", "msgLoc==", msgtype="location", text=None, content={"latitude": 1})
    assert (await user.post(payload)).status == 200
    assert (await user.post(payload)).status == 200
    reply = await user.replies()
    assert reply.count("暂不支持这种消息类型（location）") == 1


async def test_expired_session_webhook_falls_back_to_batch_send_with_string_msg_param(ding):
    user = DingUser(ding, "user001")
    expired = ding.now_ms() + 30_000  # within the last minute of its life: not trusted
    reply = await user.say("帮助", sessionWebhookExpiredTime=expired)
    assert "企业诉求服务" in reply
    reply = await user.say("我要反映", sessionWebhookExpiredTime=expired)
    assert "请描述" in reply
    assert [d.via for d in ding.fake.state.delivered] == ["batch", "batch"]
    assert ding.fake.state.token_calls == 1  # the token is cached between sends
    assert ding.fake.state.rejected == []  # msgParam was a JSON string with the template's fields


async def test_refused_session_falls_back_to_the_api(ding):
    user = DingUser(ding, "user001")
    ding.fake.state.dead_sessions.add(user.session)
    assert "企业诉求服务" in await user.say("帮助")
    assert [d.via for d in ding.fake.state.delivered] == ["batch"]


async def test_foreign_session_webhook_is_never_called(ding):
    user = DingUser(ding, "user001")
    reply = await user.say("帮助", sessionWebhook="http://169.254.169.254/latest/meta-data")
    assert "企业诉求服务" in reply
    assert [d.via for d in ding.fake.state.delivered] == ["batch"]


async def test_token_is_refreshed_once_on_an_auth_error(ding):
    user = DingUser(ding, "user001")
    expired = ding.now_ms()
    await user.say("帮助", sessionWebhookExpiredTime=expired)
    ding.fake.revoke_tokens()
    assert "请描述" in await user.say("我要反映", sessionWebhookExpiredTime=expired)
    assert ding.fake.state.token_calls == 2
    ding.clock.advance(hours=2)  # past expireIn minus five minutes: fetched again
    await user.say("取消", sessionWebhookExpiredTime=ding.now_ms())
    assert ding.fake.state.token_calls == 3


async def test_batch_send_takes_at_most_twenty_users_a_call(ding):
    api = ding.channel.sender.api
    assert isinstance(api, DingTalkApi)
    result = await api.batch_send([f"u{i}" for i in range(45)], "sampleText", {"content": "通知"})
    assert ding.fake.state.batch_sizes == [20, 20, 5]
    assert result["invalidStaffIdList"] == []
    assert len([d for d in ding.fake.state.delivered if d.via == "batch"]) == 45


async def test_group_send_reaches_a_unit_group(ding):
    async with ding.app.runtime.uow() as uow:
        await uow.outbox.add([OutboundMessage(ConversationKey("dingtalk", "group:cidUnitGroup=="), "【新诉求】…")],
                             ding.clock.now())
        await uow.commit()
    assert await ding.app.outbox.run_once() == 1
    assert [(d.via, d.to) for d in ding.fake.state.delivered] == [("group", "cidUnitGroup==")]


async def test_flow_controlled_user_is_retried_after_the_pause(ding):
    ding.fake.state.flow_controlled_once.add("user009")
    async with ding.app.runtime.uow() as uow:
        [oid] = await uow.outbox.add([OutboundMessage(ConversationKey("dingtalk", "user009"), "提醒")],
                                     ding.clock.now())
        await uow.commit()
    assert await ding.app.outbox.run_once() == 0
    async with ding.app.runtime.uow() as uow:
        row = await uow.outbox.get(oid)
    assert row.status == "pending" and (row.next_attempt_at - ding.clock.now()).total_seconds() >= 60
    ding.clock.advance(seconds=30)
    assert await ding.app.outbox.run_once() == 0
    ding.clock.advance(seconds=31)
    assert await ding.app.outbox.run_once() == 1


async def test_invalid_staff_id_goes_straight_to_dead_letter(ding):
    ding.fake.state.invalid_users.add("gone")
    async with ding.app.runtime.uow() as uow:
        [oid] = await uow.outbox.add([OutboundMessage(ConversationKey("dingtalk", "gone"), "提醒")], ding.clock.now())
        await uow.commit()
    await ding.app.outbox.run_once()
    async with ding.app.runtime.uow() as uow:
        row = await uow.outbox.get(oid)
    assert row.status == "dead" and "invalid staffId" in row.last_error


async def test_zzd_work_notification_is_signed_and_a_retried_send_is_not_delivered_twice(settings, clock, fake_ding):
    env = await make_env(settings, clock, fake_ding, dialect="zzd", tenant_id="12345")
    try:
        user = DingUser(env, "acc001")
        # Answer lost after the gateway took the message: the retry carries the same bizMsgId.
        fake_ding.state.failures.append(RECORD_THEN_500)
        await user.post(user.payload("帮助", sessionWebhookExpiredTime=env.now_ms()))
        await env.channel.drain()
        assert await env.app.outbox.run_once() == 0
        clock.advance(minutes=5)
        assert await env.app.outbox.run_once() == 1
        delivered = [d for d in fake_ding.state.delivered if d.via == "zzd"]
        assert len(delivered) == 1 and delivered[0].to == "acc001"
        assert "企业诉求服务" in delivered[0].msg["text"]["content"]
        assert fake_ding.state.rejected == []  # every X-Hmac-Auth signature matched
        assert fake_ding.state.token_calls == 1
        state = await conversation_state(env.app, ConversationKey("zzd", "acc001"))
        assert state.step == "idle"
    finally:
        await env.close()


async def test_zzd_choices_render_as_markdown_with_links(settings, clock, fake_ding):
    env = await make_env(settings, clock, fake_ding, dialect="zzd", tenant_id="12345")
    try:
        async with env.app.runtime.uow() as uow:
            from bot.messages import Choice
            await uow.outbox.add([OutboundMessage(ConversationKey("zzd", "acc002"), "请评价：",
                                                  [Choice("⭐5 非常满意", "评分 5"), Choice("⭐1", "评分 1")])],
                                 clock.now())
            await uow.commit()
        assert await env.app.outbox.run_once() == 1
        [d] = fake_ding.state.delivered
        assert d.msg["msgtype"] == "markdown"
        text = d.msg["markdown"]["text"]
        assert "1. [⭐5 非常满意](dtmd://dingtalkclient/sendMessage?content=%E8%AF%84%E5%88%86%205)" in text
        assert "2. [⭐1]" in text
    finally:
        await env.close()


async def test_full_loop_over_dingtalk_enterprise_told_at_each_step(ding):
    """Issue 4's loop with everyone in DingTalk: file, dispatch, accept, progress, close."""
    from tests.conftest import bind_staff

    enterprise = DingUser(ding, "ent001", "张伟")
    dispatcher = DingUser(ding, "disp01", "陈晓")
    handler = DingUser(ding, "hand01", "李工")
    await bind_staff(ding.app, "disp01", "chen-dispatch", channel="dingtalk")
    await bind_staff(ding.app, "hand01", "li-gdgs", channel="dingtalk")

    await file_up_to_summary(enterprise)
    assert "诉求已登记，编号 QH20261125-0001" in await enterprise.tap("确认提交")
    number = "QH20261125-0001"
    assert "【新诉求】" in await dispatcher.replies()

    pool = await dispatcher.say("待分派")
    assert number in pool and "建议：国网示范县供电公司" in pool
    assert "交由国网示范县供电公司主办" in await dispatcher.say(f"分派 {number}")
    assert "已交由国网示范县供电公司办理" in await enterprise.replies()

    todo = await handler.say("待办")
    assert number in todo
    assert "已签收诉求" in await handler.say(f"签收 {number}")
    assert "已由国网示范县供电公司签收" in await enterprise.replies()
    await handler.say(f"进展 {number} 已安排勘查，下周一现场核实负荷")
    assert "有新进展" in await enterprise.replies()
    assert "已办结（已解决）" in await handler.say(f"办结 {number} 已解决 变压器增容已完成送电")
    told = await enterprise.replies()
    assert "已办结（已解决）" in told and "变压器增容已完成送电" in told

    async with ding.app.runtime.uow() as uow:
        appeal = await uow.appeals.get(number)
    assert appeal.status == Status.RESOLVED and appeal.lead_unit_id == "gdgs"


async def test_what_an_enterprise_wrote_is_no_markup_in_the_dispatchers_pool(ding):
    """Issue 14 §4: a company name that is a markdown link reaches the dispatcher as plain words."""
    from tests.conftest import bind_staff

    enterprise = DingUser(ding, "ent001", "张伟")
    dispatcher = DingUser(ding, "disp01", "陈晓")
    await bind_staff(ding.app, "disp01", "chen-dispatch", channel="dingtalk")
    problem = "# 紧急通知\n@所有人 <b>停电</b> ![图](https://evil.example/p.png) 我们公司变压器报装两个月没有答复"
    assert "企业全称" in await enterprise.say(problem)
    assert "统一社会信用代码" in await enterprise.say("[县政府通知](https://evil.example/a)")
    await enterprise.say(USCC)
    await enterprise.say("张伟")
    await enterprise.say("138 0013 8000")
    await enterprise.say("溪口镇")
    await enterprise.say("1")
    assert "诉求已登记" in await enterprise.tap("确认提交")
    await dispatcher.replies()

    await dispatcher.say("待分派")
    sent = ding.fake.state.delivered[-1].msg
    assert sent["msgtype"] == "markdown"  # the pool carries one-tap links, so it is markdown
    md = sent["markdown"]["text"]
    assert "［县政府通知］(https://evil.example/a)" in md  # the words are there, the link is not
    assert "[县政府通知]" not in md and "![" not in md and "<b>" not in md and "@所有人" not in md
    assert "\n# " not in md and not md.startswith("#")
    # Our own one-tap links are still links.
    assert "](dtmd://dingtalkclient/sendMessage?content=" in md
