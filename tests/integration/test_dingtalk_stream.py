"""DingTalk Stream mode against a fake gateway that is a real websocket server: the same turns, dedupe and
outbox as the HTTP callback; a message is acknowledged only once stored; a dropped connection is re-opened
with backoff and what was not acknowledged comes again, yet every message is handled exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import texts
from bot.bootstrap import App
from bot.channels.dingtalk.callback import CALLBACK_PATH
from bot.channels.dingtalk.channel import DingTalkChannel
from bot.config import EXAMPLE_CONFIG, ConfigError, Settings, load_settings
from bot.server import make_web_app
from storage import tables as t
from tests.conftest import start_app
from tests.fake_servers import FakeDingTalk
from tests.fake_stream import FakeStreamGateway
from tests.fakes import FrozenClock
from tests.integration.dingtalk_env import APP_KEY, APP_SECRET, SESSION_LIFE_MS, delivered_text, ding_settings
from tests.integration.test_spool import pg_only, relay, through  # noqa: F401 (relay is a fixture)

SETTLE_SECONDS = 30  # a bound on waiting for the gateway's acks, never a pause


@dataclass
class StreamEnv:
    app: App
    fake: FakeDingTalk
    gateway: FakeStreamGateway
    clock: FrozenClock
    waits: list[float] = field(default_factory=list)  # reconnect back-offs the client asked for
    outcomes: Counter[str] = field(default_factory=Counter)  # pipeline results: ok, duplicate, …

    @property
    def channel(self) -> DingTalkChannel:
        channel = self.app.channels[0]
        assert isinstance(channel, DingTalkChannel)
        return channel

    def payload(self, staff_id: str, said: str, msg_id: str | None = None) -> dict[str, Any]:
        """The robot message body (channels.md §1.2); each one carries its own session, so every reply
        delivered can be traced to the one message that caused it."""
        msg_id = msg_id or f"msg{uuid.uuid4().hex}=="
        now = int(self.clock.now().timestamp() * 1000)
        return {
            "msgtype": "text", "text": {"content": f" {said}"}, "msgId": msg_id, "createAt": now,
            "conversationType": "1", "conversationId": f"cid-{staff_id}==", "senderId": f"$:LWCP_v1:${staff_id}",
            "senderNick": "张三", "senderCorpId": "dingcorp1", "senderStaffId": staff_id,
            "chatbotUserId": "$:LWCP_v1:$bot", "chatbotCorpId": "dingcorp1", "robotCode": APP_KEY,
            "isAdmin": False, "isInAtList": True, "sessionWebhook": self.fake.session_url(f"s-{msg_id}"),
            "sessionWebhookExpiredTime": now + SESSION_LIFE_MS,
        }

    async def settle(self) -> None:
        """Every frame acknowledged, every turn done, the outbox sent."""
        await asyncio.wait_for(self.gateway.all_acked.wait(), SETTLE_SECONDS)
        await self.channel.drain()
        await self.app.outbox.run_once()

    def replies(self, msg_id: str) -> list[str]:
        return [delivered_text(d.msg) for d in self.fake.state.delivered if d.to == f"s-{msg_id}"]

    async def stored_messages(self) -> int:
        async with self.app.database.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(t.inbound_messages)
                                       .where(t.inbound_messages.c.channel == "dingtalk"))).scalar_one()


async def open_env(settings: Settings, clock: FrozenClock, *, start: bool = True, **kw: Any) -> StreamEnv:
    fake = FakeDingTalk()
    gateway = FakeStreamGateway(fake.app, APP_KEY, APP_SECRET)
    await fake.start()
    app = await start_app(ding_settings(settings, fake, transport="stream", **kw), clock)
    env = StreamEnv(app, fake, gateway, clock)

    async def frozen_sleep(seconds: float) -> None:
        env.waits.append(seconds)
        await asyncio.sleep(0)

    assert env.channel.stream is not None
    env.channel.stream.sleep = frozen_sleep
    observe = app.pipeline.observe

    def count(channel: str, result: str, seconds: float) -> None:
        env.outcomes[result] += 1
        if observe is not None:
            observe(channel, result, seconds)

    app.pipeline.observe = count
    if start:
        await app.start_channels()  # what `qihu run` does (bot.server)
    return env


@pytest.fixture
async def stream(settings: Settings, clock: FrozenClock) -> AsyncIterator[StreamEnv]:
    env = await open_env(settings, clock)
    yield env
    await env.app.close()
    await env.fake.close()


async def test_a_message_on_the_stream_is_answered_through_the_outbox(stream):
    frame = stream.gateway.push(stream.payload("user001", "帮助", "m-help"))
    await stream.settle()
    assert stream.gateway.codes == {frame: 200}
    [reply] = stream.replies("m-help")
    assert "我要反映" in reply  # the help text, through the outbox and the message's sessionWebhook
    opened = stream.gateway.opens[0]
    assert opened["clientId"] == APP_KEY and opened["clientSecret"] == APP_SECRET
    assert opened["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]
    assert stream.gateway.ping_acks == 1 and stream.gateway.bad_acks == []


async def test_the_ack_waits_until_the_turn_is_stored(stream):
    release = asyncio.Event()
    entered = asyncio.Event()
    handle = stream.app.pipeline.handle

    async def held(msg, guard=None):  # type: ignore[no-untyped-def]
        entered.set()
        await release.wait()
        return await handle(msg, guard)

    stream.app.pipeline.handle = held
    frame = stream.gateway.push(stream.payload("user001", "我要反映", "m-slow"))
    await asyncio.wait_for(entered.wait(), SETTLE_SECONDS)
    assert stream.gateway.acks[frame] == 0 and await stream.stored_messages() == 0
    release.set()
    await stream.settle()
    assert stream.gateway.acks[frame] == 1 and await stream.stored_messages() == 1
    assert "请描述" in "\n".join(stream.replies("m-slow"))


async def test_a_dropped_connection_mid_load_loses_nothing_and_doubles_nothing(stream):
    # Eight people, three messages each, pushed at once. The gateway drops the socket after sending 5
    # frames, then again after 9 on the next connection; what was not acknowledged is sent again.
    stream.gateway.drops = [5, 9]
    users = [f"user{i:03d}" for i in range(1, 9)]
    ids = {}
    for said in ("帮助", "我要反映", "取消"):
        for user in users:
            ids[(user, said)] = f"m-{user}-{said}"
            stream.gateway.push(stream.payload(user, said, ids[(user, said)]))
    await stream.settle()
    # DingTalk re-sends a message it already had an ack for (seen in production after ~60 s).
    again = stream.gateway.push(stream.payload("user001", "帮助", ids[("user001", "帮助")]))
    await stream.settle()

    assert stream.gateway.connections == 3
    assert stream.waits == [1.0, 1.0]  # each dropped connection had delivered frames: the back-off restarts
    assert len(stream.gateway.sent) > 25  # frames whose ack was lost went out again
    assert stream.gateway.pending == {} and stream.gateway.bad_acks == [] and stream.gateway.codes[again] == 200
    assert await stream.stored_messages() == 24
    assert stream.outcomes["ok"] == 24 and stream.outcomes["duplicate"] >= 1
    for (_, said), msg_id in ids.items():
        replies = stream.replies(msg_id)
        assert len(replies) == 1, (msg_id, replies)  # one turn, one reply, delivered once
        if said == "我要反映":
            assert "请描述" in replies[0]  # each person's messages were taken in the order sent


async def test_reconnects_back_off_exponentially_up_to_the_ceiling(settings, clock):
    env = await open_env(settings, clock, start=False, stream_reconnect_max_seconds=5)
    env.gateway.open_failures = 6
    try:
        await env.app.start_channels()
        frame = env.gateway.push(env.payload("user001", "帮助", "m-late"))
        await env.settle()
        assert env.waits == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
        assert len(env.gateway.opens) == 7 and env.gateway.codes == {frame: 200}
        assert env.replies("m-late")
    finally:
        await env.app.close()
        await env.fake.close()


async def test_a_gateway_disconnect_is_followed_by_a_new_connection(stream):
    stream.gateway.push(stream.payload("user001", "帮助", "m-1"))
    await stream.settle()
    await stream.gateway.disconnect()
    stream.gateway.push(stream.payload("user001", "帮助", "m-2"))
    await stream.settle()
    assert stream.gateway.connections == 2 and stream.replies("m-2")


async def test_an_unusable_body_is_acknowledged_as_refused_and_stores_nothing(stream):
    body = stream.payload("user001", "帮助", "m-bad")
    del body["msgId"]
    frame = stream.gateway.push(body)
    await stream.settle()
    assert stream.gateway.codes == {frame: 400}
    assert await stream.stored_messages() == 0 and stream.fake.state.delivered == []


async def test_nul_or_a_lone_surrogate_on_the_stream_is_refused_and_stores_nothing(stream):
    """No HTTP body check sees a Stream frame: the pipeline's check of every message refuses it (issue 14 §6)."""
    nul = stream.gateway.push(stream.payload("user\x00001", "帮助", "m-nul"))
    lone = stream.gateway.push(stream.payload("user001", "帮\ud800助", "m-lone"))
    await stream.settle()
    assert stream.gateway.codes == {nul: 400, lone: 400}
    assert await stream.stored_messages() == 0 and stream.fake.state.delivered == []
    fine = stream.gateway.push(stream.payload("user001", "帮助", "m-fine"))
    await stream.settle()
    assert stream.gateway.codes[fine] == 200 and "我要反映" in stream.replies("m-fine")[0]


async def test_stopping_closes_the_socket(settings, clock):
    env = await open_env(settings, clock)
    env.gateway.push(env.payload("user001", "帮助", "m-1"))
    await env.settle()
    assert len(env.gateway.live) == 1
    await env.app.close()
    for _ in range(100):  # the server side sees the close frame a loop turn or two later
        if not env.gateway.live:
            break
        await asyncio.sleep(0)
    assert not env.gateway.live
    await env.fake.close()


async def test_stream_mode_serves_no_callback_route(settings, clock):
    env = await open_env(settings, clock, start=False)
    client = TestClient(TestServer(make_web_app(env.app), host="127.0.0.1"))
    await client.start_server()
    try:
        resp = await client.post(CALLBACK_PATH, json=env.payload("user001", "帮助"))
        assert resp.status in (404, 405)
    finally:
        await client.close()
        await env.app.close()
        await env.fake.close()


def test_stream_mode_is_for_dingtalk_only(monkeypatch):
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__ENABLED", "true")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__APP_KEY", "key")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__APP_SECRET", "secret")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__TRANSPORT", "stream")
    assert load_settings(EXAMPLE_CONFIG).channels.dingtalk.transport == "stream"
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__DIALECT", "zzd")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__TENANT_ID", "1")
    with pytest.raises(ConfigError, match="transport"):
        load_settings(EXAMPLE_CONFIG)


@pg_only
async def test_with_the_database_away_a_message_is_acknowledged_once_spooled(settings, clock, relay):  # noqa: F811
    env = await open_env(through(settings, relay), clock)
    try:
        env.gateway.push(env.payload("user001", "帮助", "m-before"))
        await env.settle()
        await relay.close()  # PostgreSQL is gone
        frame = env.gateway.push(env.payload("user001", "帮助", "m-away"))
        await asyncio.wait_for(env.gateway.all_acked.wait(), SETTLE_SECONDS)
        assert env.gateway.codes[frame] == 200 and env.app.spool.depth == 1  # on disk before the ack
        await env.channel.drain()
        assert env.replies("m-away") == [texts.SPOOLED_NOTICE]

        await relay.reopen()
        assert await env.app.spool.replay() == 1
        await env.app.outbox.run_once()
        assert len(env.replies("m-away")) == 2 and await env.stored_messages() == 2
    finally:
        await env.app.close()
        await env.fake.close()


async def test_readyz_names_the_stream_while_it_is_not_connected(settings, clock):
    """/readyz is 503 with the reason while no websocket is open (before the first connection and after
    stopping), and the channel check is fine while one is."""
    env = await open_env(settings, clock, start=False)
    client = TestClient(TestServer(make_web_app(env.app)))
    await client.start_server()

    async def channels_check() -> tuple[int, dict]:
        r = await client.get("/readyz")
        [check] = [c for c in (await r.json())["checks"] if c["name"] == "channels"]
        return r.status, check

    try:
        status, check = await channels_check()
        assert status == 503 and not check["ok"] and "钉钉 Stream 未连接" in check["detail"]
        await env.app.start_channels()
        env.gateway.push(env.payload("user001", "帮助", "m-1"))
        await env.settle()
        status, check = await channels_check()
        assert check["ok"] and "Stream" not in check["detail"]
        await env.channel.stream.stop()
        status, check = await channels_check()
        assert status == 503 and "钉钉 Stream 未连接" in check["detail"]
    finally:
        await client.close()
        await env.app.close()
        await env.fake.close()
