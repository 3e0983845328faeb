"""The DingTalk callback against a captured header pair, odd numbers and strange sources (issue 14 §3, §6).

The robot's `sign` covers only the `timestamp`: whoever captures one callback's headers could send any
body with them while the timestamp is fresh. Each test below is that attack, or a malformed request,
and shows it refused with nothing stored or changed."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.config import DingTalkConfig
from bot.domain.appeal import Status
from storage import tables as t
from tests.conftest import bind_staff
from tests.fake_servers import FakeDingTalk, ReverseProxy
from tests.integration.dingtalk_env import DingUser, make_env
from tests.integration.test_dingtalk_channel import file_up_to_summary

NUMBER = "QH20261125-0001"


@pytest.fixture
async def fake_ding():
    server = await FakeDingTalk().start()
    yield server
    await server.close()


async def rows(app: App) -> dict[str, int]:
    async with app.database.engine.connect() as conn:
        return {tb.name: (await conn.execute(select(func.count()).select_from(tb))).scalar_one()
                for tb in (t.appeals, t.appeal_events, t.conversations, t.outbox, t.inbound_messages)}


async def status(app: App, number: str) -> Status:
    async with app.runtime.uow() as uow:
        return (await uow.appeals.get(number)).status


async def test_a_captured_header_pair_reused_55_minutes_later_with_another_body_is_refused(settings, clock,
                                                                                          fake_ding):
    env = await make_env(settings, clock, fake_ding)
    try:
        enterprise = DingUser(env, "user001")
        await file_up_to_summary(enterprise)
        assert f"编号 {NUMBER}" in await enterprise.tap("确认提交")
        await bind_staff(env.app, "chen001", "chen-dispatch", channel="dingtalk")
        # The enterprise's next message travels with headers an attacker on the path records.
        captured = env.signed_headers()
        resp = await enterprise.post(enterprise.payload("查询"), captured)
        assert resp.status == 200
        await enterprise.replies()
        before = await rows(env.app)
        # 55 minutes later, still inside DingTalk's hour: the same headers, the dispatcher's staff id,
        # and a rejection of the enterprise's appeal.
        clock.advance(minutes=55)
        forged = DingUser(env, "chen001", "陈晓").payload(f"不予受理 {NUMBER} 不属于受理范围")
        resp = await enterprise.post(forged, captured)
        assert resp.status == 403 and "重放" in (await resp.json())["error"]
        await env.channel.drain()
        assert await status(env.app, NUMBER) == Status.SUBMITTED
        assert await rows(env.app) == before
    finally:
        await env.close()


async def test_dingtalk_resending_the_same_message_with_its_headers_is_still_taken_once(settings, clock,
                                                                                        fake_ding):
    env = await make_env(settings, clock, fake_ding)
    try:
        user = DingUser(env, "user001")
        headers = env.signed_headers()
        payload = user.payload("你好", "msg-once==")
        assert (await user.post(payload, headers)).status == 200
        assert "这里是企呼" in await user.replies()
        assert (await user.post(payload, headers)).status == 200  # DingTalk's retry: same msgId, same pair
        assert await user.replies() == ""  # deduplicated by msgId, answered once
    finally:
        await env.close()


async def test_two_instances_on_one_database_agree_on_a_used_pair(settings, clock, fake_ding):
    first = await make_env(settings, clock, fake_ding)
    second = await make_env(settings, clock, fake_ding)  # another process behind the same load balancer
    try:
        headers = first.signed_headers()
        user = DingUser(first, "user001")
        assert (await user.post(user.payload("你好"), headers)).status == 200
        attacker = DingUser(second, "user002")
        resp = await attacker.post(attacker.payload("查询"), headers)
        assert resp.status == 403 and "重放" in (await resp.json())["error"]
        await first.channel.drain()
        await second.channel.drain()
        assert (await rows(second.app))["inbound_messages"] == 1
    finally:
        await second.close()
        await first.close()


async def test_a_pair_is_forgotten_once_its_window_has_passed(settings, clock, fake_ding):
    env = await make_env(settings, clock, fake_ding, max_clock_skew_seconds=300)
    try:
        user = DingUser(env, "user001")
        assert (await user.post(user.payload("你好"))).status == 200
        await env.channel.drain()
        # 301 s later that timestamp is refused as stale, so its row is no longer needed: pruned.
        clock.advance(seconds=301)
        stale = env.signed_headers(env.now_ms() - 301 * 1000)
        resp = await user.post(user.payload("帮助"), stale)
        assert resp.status == 403 and "300 秒" in (await resp.json())["error"]
        clock.advance(minutes=2)
        assert (await user.post(user.payload("帮助"))).status == 200
        async with env.app.database.engine.connect() as conn:
            kept = (await conn.execute(select(func.count()).select_from(t.callback_signatures))).scalar_one()
        assert kept == 1  # only the fresh one
    finally:
        await env.close()


def test_clock_skew_is_capped_at_dingtalks_own_hour():
    assert DingTalkConfig().max_clock_skew_seconds == 3600
    with pytest.raises(ValidationError, match="less than or equal to 3600"):
        DingTalkConfig(max_clock_skew_seconds=3601)


async def test_source_allow_list_directly_and_behind_a_trusted_proxy(settings, clock, fake_ding):
    dingtalk_net = "203.0.113.0/24"
    env = await make_env(settings, clock, fake_ding, source_allowlist=[dingtalk_net])
    try:
        user = DingUser(env, "user001")
        # Straight from 127.0.0.1, which is not DingTalk's network.
        resp = await user.post(user.payload("你好"))
        assert resp.status == 403 and "source_allowlist" in (await resp.json())["error"]
        # Writing X-Forwarded-For yourself does not help: the peer is not a trusted proxy.
        resp = await env.client.post("/channels/dingtalk/callback", data=json.dumps(user.payload("你好")),
                                     headers=env.signed_headers() | {"X-Forwarded-For": "203.0.113.7"})
        assert resp.status == 403
        assert (await rows(env.app))["inbound_messages"] == 0
    finally:
        await env.close()
    # Behind our own proxy on 127.0.0.1 (listed in trusted_proxies), the address it forwards counts.
    proxied = await make_env(settings, clock, fake_ding, source_allowlist=[dingtalk_net],
                             trusted_proxies=["127.0.0.1/32"])
    proxy = await ReverseProxy(str(proxied.client.make_url("")), {"X-Forwarded-For": "203.0.113.7"}).start()
    outsider = await ReverseProxy(str(proxied.client.make_url("")), {"X-Forwarded-For": "198.51.100.9"}).start()
    try:
        from aiohttp import ClientSession
        user = DingUser(proxied, "user001")
        async with ClientSession() as session:
            async with session.post(proxy.url + "/channels/dingtalk/callback",
                                    data=json.dumps(user.payload("你好")), headers=proxied.signed_headers()) as r:
                assert r.status == 200
            # A client that prepends a DingTalk address to its own: read from the right, it is 198.51.100.9.
            async with session.post(outsider.url + "/channels/dingtalk/callback",
                                    data=json.dumps(user.payload("帮助")),
                                    headers=proxied.signed_headers() | {"X-Forwarded-For": "203.0.113.7"}) as r:
                assert r.status == 403
    finally:
        await proxy.close()
        await outsider.close()
        await proxied.close()


BAD_HEADERS = {
    "superscript digit": "²",
    "Arabic-Indic digits": "١٧٠٠٠٠٠٠٠٠٠٠٠",
    "5000 digits": "9" * 5000,
}


@pytest.mark.parametrize("name", list(BAD_HEADERS))
async def test_malformed_timestamp_header_is_a_400_with_a_reason(settings, clock, fake_ding, name):
    env = await make_env(settings, clock, fake_ding)
    try:
        user = DingUser(env, "user001")
        value = BAD_HEADERS[name]
        resp = await user.post(user.payload("你好"), {"timestamp": value, "sign": "c2lnbg=="})
        assert resp.status == 400 and "timestamp" in (await resp.json())["error"]
        assert (await rows(env.app))["inbound_messages"] == 0
    finally:
        await env.close()


BAD_BODIES = {
    "sessionWebhookExpiredTime: Infinity": ('"sessionWebhookExpiredTime": 1', '"sessionWebhookExpiredTime": Infinity',
                                            "Infinity"),
    "sessionWebhookExpiredTime: NaN": ('"sessionWebhookExpiredTime": 1', '"sessionWebhookExpiredTime": NaN', "NaN"),
    "createAt: 1e400": ('"createAt": 1', '"createAt": 1e400', "超出范围"),
    "NUL in senderStaffId": ('"senderStaffId": "user001"', '"senderStaffId": "user\\u0000001"', "NUL"),
    "lone surrogate in senderStaffId": ('"senderStaffId": "user001"', '"senderStaffId": "user\\udfff001"', "代理字符"),
    "lone surrogate in the text": ('"content": " 你好"', '"content": " 你\\ud800好"', "代理字符"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
async def test_non_standard_numbers_and_nul_are_a_400_with_a_reason(settings, clock, fake_ding, name):
    env = await make_env(settings, clock, fake_ding)
    try:
        user = DingUser(env, "user001")
        old, new, reason = BAD_BODIES[name]
        body = json.dumps(user.payload("你好", sessionWebhookExpiredTime=1, createAt=1), ensure_ascii=False)
        assert old in body
        resp = await env.client.post("/channels/dingtalk/callback", data=body.replace(old, new).encode(),
                                     headers=env.signed_headers() | {"Content-Type": "application/json"})
        assert resp.status == 400 and reason in (await resp.json())["error"]
        await env.channel.drain()
        assert (await rows(env.app))["inbound_messages"] == 0
    finally:
        await env.close()

