"""报告 / 指数 deliver the full report in chat: a signed, expiring link served by qihu on the web and in
DingTalk, a document in Telegram; a forged or expired link is refused with the reason (issue 15, item 8)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.config import ChannelsConfig, TelegramConfig
from bot.server import make_web_app
from tests.conftest import Chat, bind_staff, start_app
from tests.e2e.server_process import free_port
from tests.fake_servers import FakeDingTalk, FakeTelegram
from tests.integration.dingtalk_env import DingUser, make_env
from tests.integration.test_rating_buttons import resolved_for


def served(settings, port: int):  # type: ignore[no-untyped-def]
    """Settings whose public_url is the test server's own address, as a county sets its domain."""
    server = settings.server.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    return settings.model_copy(update={"server": server})


@pytest.fixture
async def web(settings, clock):  # type: ignore[no-untyped-def]
    port = free_port()
    app = await start_app(served(settings, port), clock)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1", port=port))
    await client.start_server()
    yield app, client
    await client.close()
    await app.close()


async def get(client: TestClient, url: str):  # type: ignore[no-untyped-def]
    parts = urlsplit(url)
    return await client.get(urlunsplit(("", "", parts.path, parts.query, "")))


async def test_a_leader_asks_for_the_quarter_report_and_downloads_it(web, clock):
    app, client = web
    await resolved_for(app, clock, ["ent-1"])
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    reply = await leader.say("报告 2026Q4")
    assert "【企业服务指数报告 2026Q4】受理 1 件，办结 1 件" in reply and "qihu report" not in reply
    assert "11-26 11:00 前有效" in reply  # 24 hours ([server] report_link_minutes)
    async with app.runtime.uow() as uow:
        [row] = (await uow.outbox.for_recipient("web", "staff:wang", 0, 100))[-1:]
    link = row.body["link"]
    assert link["name"] == "企业服务指数报告-2026Q4.html"
    assert link["url"].startswith(app.settings.server.public_url + "/reports/2026Q4.html?")
    resp = await get(client, link["url"])
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    page = await resp.text()
    assert "企业服务指数评价报告（2026Q4）" in page and "<img" in page  # charts included

    month = await leader.say("报告 本月")
    assert "2026-11" in month


async def test_index_ends_with_the_link_not_a_shell_command(web, clock):
    app, client = web
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    reply = await leader.say("指数")
    assert "qihu report" not in reply and "--format" not in reply
    assert "发送「报告 2026Q4」" in reply
    async with app.runtime.uow() as uow:
        row = (await uow.outbox.for_recipient("web", "staff:wang", 0, 100))[-1]
    assert (await get(client, row.body["link"]["url"])).status == 200


async def test_a_forged_changed_or_expired_link_is_refused_with_the_reason(web, clock):
    app, client = web
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    await dispatcher.say("报告 2026Q4")
    async with app.runtime.uow() as uow:
        url = (await uow.outbox.for_recipient("web", "staff:chen", 0, 100))[-1].body["link"]["url"]
    query = parse_qs(urlsplit(url).query)

    forged = url.replace(query["sig"][0], "0" * 64)
    resp = await get(client, forged)
    assert resp.status == 403 and "签名不正确" in (await resp.json())["error"]
    other_period = url.replace("/reports/2026Q4.html", "/reports/2026Q3.html")
    assert (await get(client, other_period)).status == 403
    other_person = url.replace("by=chen-dispatch", "by=wang-leader")
    assert (await get(client, other_person)).status == 403
    longer = url.replace(f"exp={query['exp'][0]}", f"exp={int(query['exp'][0]) + 86400}")
    assert (await get(client, longer)).status == 403
    incomplete = url.split("&sig=")[0]
    resp = await get(client, incomplete)
    assert resp.status == 400 and "不完整" in (await resp.json())["error"]
    resp = await get(client, url.replace(".html?", ".pdf?"))
    assert resp.status == 404 and "格式" in (await resp.json())["error"]

    clock.advance(hours=24, seconds=1)
    resp = await get(client, url)
    body = await resp.json()
    assert resp.status == 410 and "已于 11-26 10:00 过期" in body["error"] and "报告 2026Q4" in body["error"]


async def test_only_leaders_and_dispatchers_get_the_report(web, clock):
    app, _ = web
    [(chat, _number)] = await resolved_for(app, clock, ["ent-9"])
    assert "供领导和服务中心调度员查看" in await chat.say("报告 2026Q4")
    li = Chat(app, "staff:li")
    assert "供领导和服务中心调度员查看" in await li.say("报告 2026Q4")
    async with app.runtime.uow() as uow:
        rows = await uow.outbox.for_recipient("web", "ent-9", 0, 100)
    assert not any(r.body.get("link") for r in rows)
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    assert "没有识别期间「明年」" in await leader.say("报告 明年")


async def test_dingtalk_gets_a_markdown_download_link(settings, clock):
    fake = await FakeDingTalk().start()
    port = free_port()
    env = await make_env(served(settings, port), clock, fake)
    server = TestServer(make_web_app(env.app), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        await bind_staff(env.app, "user-wang", "wang-leader", channel="dingtalk")
        reply = await DingUser(env, "user-wang").say("报告 2026Q4")
        assert "【企业服务指数报告 2026Q4】" in reply
        assert f"📎 [企业服务指数报告-2026Q4.html](http://127.0.0.1:{port}/reports/2026Q4.html?by=wang-leader" in reply
        url = reply.split("](", 1)[1].split(")", 1)[0]
        resp = await env.client.session.get(url)
        assert resp.status == 200 and "企业服务指数评价报告" in await resp.text()
    finally:
        await server.close()
        await env.close()
        await fake.close()


async def test_telegram_gets_the_report_as_a_document(settings, clock):
    fake = await FakeTelegram("123:ABC", clock).start()
    port = free_port()
    cfg = TelegramConfig(enabled=True, token=SecretStr("123:ABC"), webhook_secret=SecretStr("s" * 16),
                         base_url=fake.base_url)
    app = await start_app(served(settings, port).model_copy(update={"channels": ChannelsConfig(telegram=cfg)}),
                          clock)
    server = TestServer(make_web_app(app), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        leader = await bind_staff(app, "42", "wang-leader", channel="telegram")
        assert "【企业服务指数报告 2026Q4】" in await leader.say("报告 2026Q4")
        await app.outbox.run_once()
        [doc] = fake.documents(42)
        assert doc["filename"] == "企业服务指数报告-2026Q4.html"
        assert "企业服务指数评价报告（2026Q4）" in doc["data"].decode() and "下载" in doc["caption"]
        assert fake.sent(42) == []  # the text travels as the document's caption
    finally:
        await server.close()
        await app.close()
        await fake.close()
