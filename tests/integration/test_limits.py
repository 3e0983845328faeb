"""Request size and per-sender rate limits: clear answers, nothing stored for a refused message."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import texts
from bot.config import Settings
from bot.server import make_web_app
from storage import tables as t
from tests.conftest import start_app
from tests.fake_servers import FakeDingTalk
from tests.fakes import FrozenClock
from tests.integration.dingtalk_env import DingUser, make_env


def limited(settings: Settings, per_minute: int = 6, burst: int = 2) -> Settings:
    return settings.model_copy(update={"server": settings.server.model_copy(
        update={"sender_per_minute": per_minute, "sender_burst": burst})})


async def inbound_count(app) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(t.inbound_messages))).scalar_one()


async def test_web_chat_sender_over_the_limit_gets_429_in_chinese_and_nothing_is_stored(
        settings: Settings, clock: FrozenClock) -> None:
    app = await start_app(limited(settings), clock)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        for i in range(2):
            resp = await client.post("/api/web/messages", json={"user": "ent-1", "text": f"你好{i}"})
            assert resp.status == 200
        resp = await client.post("/api/web/messages", json={"user": "ent-1", "text": "再来一条"})
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "10"
        assert (await resp.json())["error"] == texts.RATE_LIMITED.format(seconds=10)
        assert await inbound_count(app) == 2
        other = await client.post("/api/web/messages", json={"user": "ent-2", "text": "你好"})
        assert other.status == 200  # the limit is per sender
        clock.advance(seconds=10)
        again = await client.post("/api/web/messages", json={"user": "ent-1", "text": "再来一条"})
        assert again.status == 200
    finally:
        await client.close()
        await app.close()


async def test_dingtalk_flood_is_refused_before_the_pipeline(settings: Settings, clock: FrozenClock) -> None:
    fake = await FakeDingTalk().start()
    env = await make_env(limited(settings), clock, fake)
    try:
        user = DingUser(env, "flooder")
        statuses = [(await user.post(user.payload(f"消息{i}"))).status for i in range(5)]
        assert statuses == [200, 200, 429, 429, 429]
        await env.channel.drain()
        assert await inbound_count(env.app) == 2
    finally:
        await env.close()
        await fake.close()


async def test_body_over_the_size_limit_is_refused_with_413(settings: Settings, clock: FrozenClock) -> None:
    app = await start_app(settings, clock)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        big = json.dumps({"user": "ent-1", "text": "长" * (settings.server.max_body_bytes // 2)})
        resp = await client.post("/api/web/messages", data=big, headers={"Content-Type": "application/json"})
        assert resp.status == 413
        assert (await resp.json())["error"] == "请求体过大。"
        assert await inbound_count(app) == 0
    finally:
        await client.close()
        await app.close()
