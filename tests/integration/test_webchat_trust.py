"""The web chat behind a reverse proxy on the same host (issue 14 §2, §6): every request arrives from
127.0.0.1, yet nobody outside gets the demo picker, a staff role, or another person's messages."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.channels.webchat_channel import portal_signature
from bot.server import make_web_app
from bot.startup import security_warnings
from storage import tables as t
from tests.conftest import start_app
from tests.fake_servers import ReverseProxy

SECRET = "portal-secret-for-tests"


async def stored_rows(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return {tb.name: (await conn.execute(select(func.count()).select_from(tb))).scalar_one()
                for tb in (t.appeals, t.conversations, t.outbox, t.identities, t.inbound_messages)}


def token_for(app, user: str, ttl: int = 3600) -> str:  # type: ignore[no-untyped-def]
    expires = int(app.runtime.now().timestamp()) + ttl
    return f"{expires}.{portal_signature(SECRET, user, expires)}"


@pytest.fixture
async def served(settings, clock):  # type: ignore[no-untyped-def]
    """qihu with demo on (as `make run` ships it) and a portal secret, served on 127.0.0.1."""
    webchat = settings.webchat.model_copy(update={"demo_mode": True, "portal_secret": SecretStr(SECRET)})
    app = await start_app(settings.model_copy(update={"webchat": webchat}), clock)
    server = TestServer(make_web_app(app), host="127.0.0.1")
    await server.start_server()
    yield app, server
    await server.close()
    await app.close()


async def via(proxy: ReverseProxy):  # type: ignore[no-untyped-def]
    await proxy.start()
    client = TestClient(proxy.server)
    await client.start_server()
    return client


PROXIES = {
    "nginx (X-Forwarded-For, X-Real-IP, public Host)": ({"X-Forwarded-For": "203.0.113.7",
                                                         "X-Real-IP": "203.0.113.7"}, "qihu.example.gov.cn"),
    "RFC 7239 Forwarded only": ({"Forwarded": "for=203.0.113.7;proto=https"}, None),
    "X-Real-IP only": ({"X-Real-IP": "203.0.113.7"}, None),
    "X-Forwarded-Host only": ({"X-Forwarded-Host": "qihu.example.gov.cn"}, None),
    "Via only (RFC 9110: a proxy says it is one)": ({"Via": "1.1 squid"}, None),
    "no header, public Host kept": ({}, "qihu.example.gov.cn"),
}


@pytest.mark.parametrize("name", list(PROXIES))
async def test_behind_a_proxy_the_demo_is_off_and_staff_demo_identities_are_refused(served, name):
    app, server = served
    headers, host = PROXIES[name]
    outside = await via(ReverseProxy(str(server.make_url("")), headers, host))
    try:
        # The attacker asks whether demo is on: it is not, for them.
        cfg = await (await outside.get("/api/web/config")).json()
        assert (cfg["demo"], cfg["staff"]) == (False, [])  # no demo, and no staff picker behind the proxy
        before = await stored_rows(app)
        # They claim to be the dispatcher and ask for the pool.
        r = await outside.post("/api/web/messages", json={"user": "staff:chen-dispatch", "text": "待分派"})
        assert r.status == 403 and "staff:" in (await r.json())["error"]
        # Without a token they are nobody at all.
        r = await outside.post("/api/web/messages", json={"user": "ent-a", "text": "你好"})
        assert r.status == 401 and "token" in (await r.json())["error"]
        assert await stored_rows(app) == before
    finally:
        await outside.close()


async def test_another_users_messages_cannot_be_read_through_the_proxy(served):
    app, server = served
    direct = TestClient(server)
    await direct.start_server()
    outside = await via(ReverseProxy(str(server.make_url(""))))
    try:
        # A portal user talks to the bot; their replies wait in the outbox.
        victim = token_for(app, "ent-victim")
        r = await outside.post("/api/web/messages", json={"user": "ent-victim", "token": victim, "text": "你好"})
        assert r.status == 200
        own = await (await outside.get("/api/web/messages", params={"user": "ent-victim", "token": victim})).json()
        assert own["messages"] and "这里是企呼" in own["messages"][0]["text"]
        # The attacker names the victim: no token, their own token, or a demo-looking request are all refused.
        r = await outside.get("/api/web/messages", params={"user": "ent-victim"})
        assert r.status == 401
        mine = token_for(app, "ent-attacker")
        r = await outside.get("/api/web/messages", params={"user": "ent-victim", "token": mine})
        assert r.status == 403 and "签名不正确" in (await r.json())["error"]
        # Their own token reads their own (empty) box only.
        r = await outside.get("/api/web/messages", params={"user": "ent-attacker", "token": mine})
        assert (await r.json()) == {"messages": []}
        # On this machine, straight to the server, demo still works (make run).
        cfg = await (await direct.get("/api/web/config")).json()
        assert cfg["demo"] is True and cfg["staff"]
    finally:
        await outside.close()
        await direct.close()


async def test_a_staff_role_bound_in_demo_is_never_honoured_for_a_portal_token(served):
    app, server = served
    direct = TestClient(server)
    await direct.start_server()
    outside = await via(ReverseProxy(str(server.make_url(""))))
    try:
        # The demo binds web:staff:chen-dispatch to the dispatcher.
        r = await direct.post("/api/web/messages", json={"user": "staff:chen-dispatch", "text": "帮助"})
        assert "调度员" in (await r.json())["replies"][0]["text"]
        before = await stored_rows(app)
        # A portal (or anyone holding the portal secret's signature for that name) cannot step into it.
        token = token_for(app, "staff:chen-dispatch")
        r = await outside.post("/api/web/messages",
                               json={"user": "staff:chen-dispatch", "token": token, "text": "待分派"})
        assert r.status == 403 and "只用于本机演示" in (await r.json())["error"]
        r = await outside.get("/api/web/messages", params={"user": "staff:chen-dispatch", "token": token})
        assert r.status == 403
        assert await stored_rows(app) == before
    finally:
        await outside.close()
        await direct.close()


BAD_INPUT = [
    ("token with a superscript digit", {"token": "².ab"}, "过期时间"),
    ("token with a 5000-digit expiry", {"token": "9" * 5000 + "." + "a" * 64}, "过期时间"),
    ("token with a non-ASCII signature", {"token": "{expires}.签名" + "a" * 62}, "签名"),
    ("after with a superscript digit", {"after": "²"}, "after"),
    ("after with 25 digits", {"after": "9" * 25}, "after"),
]


@pytest.mark.parametrize("name", [case[0] for case in BAD_INPUT])
async def test_malformed_tokens_and_cursors_are_a_400_with_a_reason(served, name):
    app, server = served
    _, params, reason = next(case for case in BAD_INPUT if case[0] == name)
    outside = await via(ReverseProxy(str(server.make_url(""))))
    try:
        expires = int(app.runtime.now().timestamp()) + 60
        query = {"user": "ent-a", "token": token_for(app, "ent-a"), "after": "0"}
        query |= {k: v.replace("{expires}", str(expires)) for k, v in params.items()}
        before = await stored_rows(app)
        r = await outside.get("/api/web/messages", params=query)
        assert r.status == 400 and reason in (await r.json())["error"]
        if "token" in params:
            r = await outside.post("/api/web/messages", json={**query, "text": "你好"})
            assert r.status == 400 and reason in (await r.json())["error"]
        assert await stored_rows(app) == before
    finally:
        await outside.close()


async def test_page_headers_forbid_inline_script_and_name_who_may_frame_it(served):
    _, server = served
    direct = TestClient(server)
    await direct.start_server()
    try:
        for path in ("/", "/static/chat.js", "/api/web/config"):
            r = await direct.get(path)
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'self'" in csp
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Referrer-Policy"] == "no-referrer"
        page = await (await direct.get("/")).text()
        assert "<script>" not in page and "<style" not in page and " style=" not in page
        assert 'onclick=' not in page and "javascript:" not in page
    finally:
        await direct.close()


async def test_frame_ancestors_is_configurable_for_portals(settings, clock):
    webchat = settings.webchat.model_copy(update={"frame_ancestors": ["'self'", "https://portal.example.gov.cn"]})
    app = await start_app(settings.model_copy(update={"webchat": webchat}), clock)
    try:
        async with TestClient(TestServer(make_web_app(app), host="127.0.0.1")) as client:
            r = await client.get("/")
            assert "frame-ancestors 'self' https://portal.example.gov.cn" in r.headers["Content-Security-Policy"]
    finally:
        await app.close()


def test_start_up_warns_of_demo_on_a_public_address_and_of_unsigned_dingtalk(settings):
    assert security_warnings(settings) == []  # the example: 127.0.0.1, DingTalk off
    public = settings.model_copy(update={"server": settings.server.model_copy(update={"host": "0.0.0.0"})})
    [warning] = security_warnings(public)
    assert "demo_mode" in warning and "0.0.0.0" in warning
    for mode in ("off", "if_present"):
        ding = settings.channels.dingtalk.model_copy(update={"enabled": True, "signature": mode})
        unsigned = settings.model_copy(update={"channels": settings.channels.model_copy(update={"dingtalk": ding})})
        [warning] = security_warnings(unsigned)
        assert f'signature = "{mode}"' in warning


async def test_the_warnings_are_logged_at_every_start(settings, clock, caplog, unused_tcp_port):
    from bot.server import serve
    ding = settings.channels.dingtalk.model_copy(update={"signature": "off", "enabled": True, "app_key": "k",
                                                          "app_secret": SecretStr("s")})
    server = settings.server.model_copy(update={"host": "127.0.0.1", "port": unused_tcp_port})
    s = settings.model_copy(update={"channels": settings.channels.model_copy(update={"dingtalk": ding}),
                                    "server": server,
                                    "scheduler": settings.scheduler.model_copy(update={"enabled": False})})
    for _ in range(2):
        caplog.clear()
        app = await start_app(s, clock)
        with caplog.at_level(logging.WARNING, logger="bot.server"):
            runner = await serve(app)
        await runner.cleanup()
        await app.close()
        assert any('signature = "off"' in r.getMessage() for r in caplog.records)
