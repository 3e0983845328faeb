"""A 12345 hotline system pushes tickets in through Open311 and /api/v1 and learns every state change
from signed webhooks, while staff handle the appeals in chat: end to end over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.domain.appeal import Status
from bot.server import make_web_app
from storage import tables as t
from tests.conftest import bind_staff
from tests.integration.api_env import SECRET, Fake12345, deliver_all, new_key
from tests.integration.test_filing_dialogue import USCC

TICKET = {
    "service_code": "水电气能源", "description": "新上生产线需要增容一台变压器，报装两个月了供电所一直没有答复",
    "address_string": "溪口镇工业园区纬三路", "first_name": "伟", "last_name": "张", "phone": "13800138000",
    "attribute[company]": "示范精密机械有限公司", "attribute[uscc]": USCC,
    "attribute[external_id]": "12345-20261125-001",
}
SECOND = {
    "external_id": "12345-20261125-002", "company": "示范精密机械有限公司", "uscc": USCC, "contact": "张伟",
    "phone": "13800138000", "area": "溪口", "text": "去年申报的技改补贴至今没有拨付到账，请帮忙催一下进度",
    "type": "求助", "category": "政策兑现",
}


@pytest.fixture
async def client(app):  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(make_web_app(app), host="127.0.0.1")) as c:
        yield c


@pytest.fixture
async def hotline(clock):  # type: ignore[no-untyped-def]
    server = await Fake12345(clock).start()
    yield server
    await server.close()


async def count(app, table) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_hotline_tickets_in_through_open311_and_json_api_and_every_state_change_out(
        app, client, hotline, clock):
    key = await new_key(app)
    auth = {"Authorization": f"Bearer {key}"}
    sub = await client.post("/api/v1/webhooks", json={"url": hotline.events_url, "secret": SECRET}, headers=auth)
    assert sub.status == 201 and (await sub.json())["all_appeals"] is False

    # The hotline hands over a ticket the Open311 way (form fields, api_key) — twice, as retrying systems do.
    first = await client.post("/open311/v2/requests.json", data={**TICKET, "api_key": key})
    [answer] = await first.json()
    a = answer["service_request_id"]
    assert first.status == 200 and a.startswith("QH20261125-") and "已受理" in answer["service_notice"]
    again = await (await client.post("/open311/v2/requests.json", data={**TICKET, "api_key": key})).json()
    assert again[0]["service_request_id"] == a and "已提交过" in again[0]["service_notice"]
    # … and another through the JSON API.
    second = await client.post("/api/v1/appeals", json=SECOND, headers=auth)
    body = await second.json()
    assert second.status == 201, body
    b = body["appeal"]["number"]
    assert second.status == 201 and body["created"] and body["appeal"]["entry_source"] == "12345热线"
    assert body["appeal"]["phone"] is None  # no read_personal scope
    assert await count(app, t.appeals) == 2

    # Staff work both in chat.
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    zhao = await bind_staff(app, "staff:zhao", "zhao-jxj")
    sun = await bind_staff(app, "staff:sun", "sun-kfq")
    assert "12345热线" in await dispatcher.say("待分派")
    await dispatcher.say(f"分派 {a} 供电公司")
    await li.say(f"签收 {a}")
    await li.say(f"进展 {a} 已派员现场勘察")
    await li.say(f"延期 {a} 3 变压器需厂家排产")
    await dispatcher.say(f"批准延期 {a}")
    clock.advance(days=1)
    assert "已办结" in await li.say(f"办结 {a} 已解决 已完成增容，变压器已送电")

    await dispatcher.say(f"分派 {b} 经信局")
    assert "服务中心将重新分派" in await zhao.say(f"退回 {b} 技改补贴由开发区兑付")
    await dispatcher.say(f"分派 {b} 开发区")
    await sun.say(f"签收 {b}")
    assert "提级申请" in await sun.say(f"提级 {b} 涉及市级专项资金，需市级协调")  # a request to the centre
    assert "市级专班" in await dispatcher.say(f"提级 同意 {b}")
    assert "转至" in await dispatcher.say(f"转办 {b} 经信局 市级专班建议由经信局牵头")

    # The hotline's return call: the enterprise is not satisfied; verified, rectified, rated again.
    bad = await client.post(f"/api/v1/appeals/{a}/ratings", headers=auth,
                            json={"level": 2, "solved": "未解决", "comment": "电压仍不稳"})
    assert bad.status == 201 and (await bad.json())["bad"] is True
    await dispatcher.say(f"核实 {a} 有效 已电话联系企业，电压不稳属实")
    clock.advance(days=2)
    await li.say(f"办结 {a} 已解决 更换了线路调压器，电压已稳定")
    good = await client.post(f"/api/v1/appeals/{a}/ratings", headers=auth, json={"level": 5, "solved": "已解决"})
    assert good.status == 201

    await deliver_all(app)
    assert hotline.rejected == []
    assert hotline.types(a) == [
        "appeal.submitted", "appeal.assigned", "appeal.accepted", "appeal.progress", "appeal.extended",
        "appeal.extended", "appeal.closed", "appeal.rated", "appeal.review.verified", "appeal.rectified",
        "appeal.rated"]
    assert hotline.types(b) == [
        "appeal.submitted", "appeal.assigned", "appeal.returned", "appeal.assigned", "appeal.accepted",
        "appeal.escalated", "appeal.transferred"]
    for number in (a, b):  # per appeal in the order it happened
        versions = [r.version for r in hotline.received if r.number == number]
        assert versions == sorted(versions)
    assert len({r.event_id for r in hotline.received}) == len(hotline.received)
    last = [r.body for r in hotline.received if r.number == b][-1]
    assert last["appeal"]["external_id"] == SECOND["external_id"] and last["appeal"]["lead_unit"] == "jxj"
    closed = next(r.body for r in hotline.received if r.number == a and r.type == "appeal.closed")
    assert closed["appeal"]["open311_status"] == "closed" and closed["event"]["data"]["outcome"] == "已解决"

    # What the hotline reads back through Open311: closed, who handled it, the last step's note.
    [req] = await (await client.get(f"/open311/v2/requests/{a}.json", params={"api_key": key})).json()
    assert req["status"] == "closed" and req["agency_responsible"] == "国网示范县供电公司"
    assert req["status_notes"].startswith("评价") and "phone" not in req
    timeline = await (await client.get(f"/api/v1/appeals/{a}/timeline", headers=auth)).json()
    assert [e["action"] for e in timeline["events"]][:3] == ["submit", "dispatch", "accept"]
    async with app.runtime.uow() as uow:
        assert (await uow.appeals.get(a)).status == Status.CLOSED


async def test_a_failing_receiver_gets_each_appeal_in_order_after_backoff_and_dead_letters_stay(
        app, client, hotline, clock):
    key = await new_key(app)
    auth = {"Authorization": f"Bearer {key}"}
    await client.post("/api/v1/webhooks", json={"url": hotline.events_url, "secret": SECRET}, headers=auth)
    number = (await (await client.post("/api/v1/appeals", json=SECOND, headers=auth)).json())["appeal"]["number"]
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    await dispatcher.say(f"分派 {number} 经信局")
    hotline.fail_next = 2
    await app.outbox.run_once()
    assert hotline.received == []  # the first failed; the second waits behind it, in order
    clock.advance(minutes=10)
    await app.outbox.run_once()
    assert hotline.received == []
    clock.advance(minutes=10)
    await deliver_all(app)
    assert hotline.types(number) == ["appeal.submitted", "appeal.assigned"]
    async with app.runtime.uow() as uow:
        rows = await uow.outbox.recent(None, 10)
    hooks = [r for r in rows if r.channel == "webhook"]
    assert {r.status for r in hooks} == {"sent"} and max(r.attempts for r in hooks) == 3

    # A receiver that never answers well: after [delivery] max_attempts the row is a dead letter.
    hotline.fail_next = 10_000
    zhao = await bind_staff(app, "staff:zhao", "zhao-jxj")
    await zhao.say(f"签收 {number}")
    for _ in range(app.settings.delivery.max_attempts):
        await app.outbox.run_once()
        clock.advance(hours=2)
    async with app.runtime.uow() as uow:
        dead = [r for r in await uow.outbox.recent("dead", 10) if r.channel == "webhook"]
    assert len(dead) == 1 and "HTTP 503" in (dead[0].last_error or "")
    assert dead[0].body["type"] == "appeal.accepted"


async def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(app, client, clock):
    receiver = await Fake12345(clock, secret="the-receiver-expects-another-one").start()
    try:
        key = await new_key(app)
        auth = {"Authorization": f"Bearer {key}"}
        await client.post("/api/v1/webhooks", json={"url": receiver.events_url, "secret": SECRET}, headers=auth)
        await client.post("/api/v1/appeals", json=SECOND, headers=auth)
        await app.outbox.run_once()
        assert receiver.rejected == ["signature"] and receiver.received == []
        async with app.runtime.uow() as uow:
            [row] = [r for r in await uow.outbox.recent(None, 10) if r.channel == "webhook"]
        assert row.status == "pending" and "HTTP 401" in (row.last_error or "")
    finally:
        await receiver.close()


async def test_other_clients_appeals_reach_only_subscriptions_for_all_appeals(app, client, hotline, clock):
    own = await new_key(app)
    platform = await new_key(app, "sipingtai", "read", "基层治理四平台")
    await client.post("/api/v1/webhooks", json={"url": hotline.events_url, "secret": SECRET, "all_appeals": True},
                      headers={"Authorization": f"Bearer {platform}"})
    number = (await (await client.post("/api/v1/appeals", json=SECOND,
                                       headers={"Authorization": f"Bearer {own}"})).json())["appeal"]["number"]
    await deliver_all(app)
    assert hotline.types(number) == ["appeal.submitted"]
    subs = await (await client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {own}"})).json()
    assert subs["items"] == []
