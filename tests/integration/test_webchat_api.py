"""The web chat JSON API: demo identities on loopback, portal-signed identities, bad input → 4xx."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.channels.webchat_channel import portal_signature
from bot.messages import ConversationKey
from bot.server import make_web_app
from storage import tables as t
from tests.conftest import start_app


@pytest.fixture
async def client(app):  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(make_web_app(app))) as c:
        yield c


async def stored_rows(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return tuple([(await conn.execute(select(func.count()).select_from(tb))).scalar_one()
                      for tb in (t.appeals, t.conversations, t.outbox)])


async def test_page_and_health(client):
    page = await client.get("/")
    assert page.status == 200 and "企呼" in await page.text()
    health = await client.get("/healthz")
    assert (await health.json())["status"] == "ok"


async def test_demo_config_lists_demo_staff_on_loopback(client):
    cfg = await (await client.get("/api/web/config")).json()
    assert cfg["demo"] is True
    assert {"staff:chen-dispatch", "staff:wang-leader"} <= {s["id"] for s in cfg["staff"]}


async def test_message_round_trip_and_polling(client, app):
    r = await client.post("/api/web/messages", json={"user": "ent-a", "text": "你好", "client_msg_id": "c1"})
    body = await r.json()
    assert r.status == 200 and "这里是企呼" in body["replies"][0]["text"]
    again = await client.post("/api/web/messages", json={"user": "ent-a", "text": "你好", "client_msg_id": "c1"})
    assert (await again.json()) == {"duplicate": True, "replies": []}
    polled = await (await client.get("/api/web/messages", params={"user": "ent-a", "after": "0"})).json()
    assert [m["text"] for m in polled["messages"]] == [body["replies"][0]["text"]]
    after = polled["messages"][-1]["id"]
    empty = await (await client.get("/api/web/messages", params={"user": "ent-a", "after": str(after)})).json()
    assert empty["messages"] == []


async def test_demo_staff_is_bound_and_gets_staff_help(client):
    r = await client.post("/api/web/messages", json={"user": "staff:chen-dispatch", "text": "帮助"})
    assert "调度员" in (await r.json())["replies"][0]["text"]
    r = await client.post("/api/web/messages", json={"user": "staff:admin", "text": "帮助"})
    assert r.status == 403 and "演示人员" in (await r.json())["error"]


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"{not json", 400, "不是有效的 JSON"),
        (b"[1, 2]", 400, "JSON 对象"),
        (json.dumps({"text": "你好"}).encode(), 400, "用户标识"),
        (json.dumps({"user": "a b", "text": "你好"}).encode(), 400, "用户标识"),
        (json.dumps({"user": "ent-a", "text": 5}).encode(), 400, "字符串"),
        (json.dumps({"user": "ent-a", "text": "   "}).encode(), 400, "不能为空"),
        (json.dumps({"user": "ent-a", "text": "长" * 5000}).encode(), 413, "消息过长"),
        (json.dumps({"user": "ent-a", "text": "x" * 70000}).encode(), 413, "请求体过大"),
        (json.dumps({"user": "ent-a", "text": "hi", "client_msg_id": 7}).encode(), 400, "client_msg_id"),
        (("[" * 50000 + "]" * 50000).encode(), 413, "请求体过大"),
    ],
)
async def test_bad_requests_are_refused_with_a_reason_and_store_nothing(client, app, raw, status, reason):
    r = await client.post("/api/web/messages", data=raw, headers={"Content-Type": "application/json"})
    assert r.status == status
    assert reason in (await r.json())["error"]
    assert await stored_rows(app) == (0, 0, 0)


async def test_deep_nesting_within_size_limit_is_a_400(client, app):
    raw = ("[" * 20000 + "]" * 20000).encode()
    r = await client.post("/api/web/messages", data=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert await stored_rows(app) == (0, 0, 0)


async def test_bad_after_and_unknown_route(client):
    assert (await client.get("/api/web/messages", params={"user": "ent-a", "after": "-1"})).status == 400
    r = await client.get("/nope")
    assert r.status == 404 and "没有这个地址" in (await r.json())["error"]


@pytest.fixture
async def portal_client(settings, clock):  # type: ignore[no-untyped-def]
    webchat = settings.webchat.model_copy(update={"demo_mode": False, "portal_secret": SecretStr("portal-secret")})
    secured = settings.model_copy(update={"webchat": webchat})
    application = await start_app(secured, clock)
    async with TestClient(TestServer(make_web_app(application))) as c:
        yield c, application
    await application.close()


async def test_without_demo_mode_only_portal_signed_identities_are_accepted(portal_client):
    client, application = portal_client
    now = int(application.runtime.now().timestamp())  # the frozen clock, not the machine's
    cfg = await (await client.get("/api/web/config")).json()
    assert cfg["demo"] is False and cfg["staff"] == []  # nobody to pick; the input hints are for every role
    assert "描述您遇到的问题" in cfg["placeholders"]["enterprise"]
    r = await client.post("/api/web/messages", json={"user": "ent-a", "text": "你好"})
    assert r.status == 401 and "令牌" in (await r.json())["error"]
    expires = now + 600
    forged = f"{expires}.{'0' * 64}"
    r = await client.post("/api/web/messages", json={"user": "ent-a", "text": "你好", "token": forged})
    assert r.status == 403
    stale = now - 10
    token = f"{stale}.{portal_signature('portal-secret', 'ent-a', stale)}"
    r = await client.post("/api/web/messages", json={"user": "ent-a", "text": "你好", "token": token})
    assert r.status == 401 and "过期" in (await r.json())["error"]
    assert await stored_rows(application) == (0, 0, 0)
    token = f"{expires}.{portal_signature('portal-secret', 'ent-a', expires)}"
    r = await client.post("/api/web/messages", json={"user": "ent-a", "text": "你好", "token": token})
    assert r.status == 200 and "这里是企呼" in (await r.json())["replies"][0]["text"]
    # A signature for one user does not open another user's mailbox.
    r = await client.get("/api/web/messages", params={"user": "ent-b", "token": token, "after": "0"})
    assert r.status == 403


async def test_demo_staff_have_a_page_identity_from_start_up(app, client):
    # Linked before they first open the page, so a task assigned meanwhile is waiting there for them.
    await app.link_demo_staff()
    async with app.runtime.uow() as uow:
        identity = await uow.directory.identity(ConversationKey("web", "staff:chen-dispatch"))
    assert identity.staff is not None and identity.staff.id == "chen-dispatch"
    r = await client.post("/api/web/messages", json={"user": "staff:chen-dispatch", "text": "帮助"})
    assert "调度员" in (await r.json())["replies"][0]["text"]
