"""/api/v1: keys and scopes, refusals that say why and store nothing, cursor pages, personal data only for
read_personal, per-key rate limits, the entry source counted in pool and KPIs, and the OpenAPI document."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate
from sqlalchemy import func, select

from bot.server import make_web_app
from storage import tables as t
from tests.conftest import bind_staff, start_app
from tests.integration.api_env import new_key
from tests.integration.test_api_interop import SECOND


@pytest.fixture
async def client(app):  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(make_web_app(app), host="127.0.0.1")) as c:
        yield c


async def stored(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return tuple([(await conn.execute(select(func.count()).select_from(tb))).scalar_one()
                      for tb in (t.appeals, t.appeal_events, t.outbox)])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ticket(n: int, **changes: object) -> dict[str, object]:
    return {**SECOND, "external_id": f"12345-T{n:03d}", **changes}


async def test_the_openapi_document_is_generated_from_the_models_and_valid(client):
    doc = await (await client.get("/api/v1/openapi.json")).json()
    validate(doc)
    assert doc["openapi"].startswith("3.")
    schemas = set(doc["components"]["schemas"])
    assert {"AppealIn", "AppealOut", "AppealPage", "RatingIn", "WebhookIn", "ErrorOut"} <= schemas
    assert doc["components"]["schemas"]["AppealIn"]["properties"]["uscc"]["maxLength"] == 18
    assert "X-Qihu-Signature" in doc["info"]["description"]
    assert set(doc["paths"]["/api/v1/appeals"]) == {"get", "post"}


async def test_no_key_a_wrong_key_and_a_revoked_key_are_refused_with_the_reason(app, client):
    before = await stored(app)
    r = await client.post("/api/v1/appeals", json=ticket(1))
    assert r.status == 401 and "密钥" in (await r.json())["error"]
    r = await client.post("/api/v1/appeals", json=ticket(1), headers=bearer("qh_00000000_guess"))
    assert r.status == 401
    assert (await client.post("/api/v1/appeals", data=b"{bad")).status == 401  # who asks before what
    key = await new_key(app)
    async with app.runtime.uow() as uow:
        assert await uow.api.revoke("hotline-12345", app.runtime.now())
        await uow.commit()
    r = await client.post("/api/v1/appeals", json=ticket(1), headers=bearer(key))
    assert r.status == 401 and "吊销" in (await r.json())["error"]
    assert await stored(app) == before


async def test_each_scope_guards_its_calls(app, client):
    reader = await new_key(app, "reader", "read")
    submitter = await new_key(app, "submitter", "submit")
    r = await client.post("/api/v1/appeals", json=ticket(1), headers=bearer(reader))
    assert r.status == 403 and "「submit」" in (await r.json())["error"]
    assert (await client.post("/api/v1/appeals", json={}, headers=bearer(reader))).status == 403
    number = (await (await client.post("/api/v1/appeals", json=ticket(1), headers=bearer(submitter))).json()
              )["appeal"]["number"]
    for path in (f"/api/v1/appeals/{number}", "/api/v1/appeals", "/api/v1/webhooks"):
        assert (await client.get(path, headers=bearer(submitter))).status == 403
    r = await client.get(f"/api/v1/appeals/{number}/callbacks", headers=bearer(reader))
    assert r.status == 403 and "callbacks" in (await r.json())["error"]
    r = await client.post(f"/api/v1/appeals/{number}/ratings", json={"level": 5, "solved": "已解决"},
                          headers=bearer(reader))
    assert r.status == 403 and "rate" in (await r.json())["error"]


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"{not json", 400, "JSON 对象"),
    (b"[1, 2]", 400, "JSON 对象"),
    (b'{"company": "x"}', 400, "company"),
    (None, 400, "缺少必填字段 uscc"),
    ({"uscc": "91330825MA2DH4KX3T"}, 400, "第 18 位校验码"),
    ({"area": "火星"}, 400, "乡镇"),
    ({"entry_source": "随便来源"}, 400, "entry_sources"),
    ({"category": "不存在"}, 400, "问题类别"),
    ({"type": "举报"}, 400, "type"),
    ({"phone": "12345678901"}, 400, "手机"),
    ({"text": "太短"}, 400, "字"),
    ({"external_id": "中文编号"}, 400, "外部编号"),
    ({"unknown": 1}, 400, "unknown"),
])
async def test_bad_input_is_a_4xx_with_the_reason_and_stores_nothing(app, client, body, status, reason):
    key = await new_key(app)
    before = await stored(app)
    if isinstance(body, bytes):
        r = await client.post("/api/v1/appeals", data=body, headers={**bearer(key), "Content-Type": "application/json"})
    else:
        payload = ticket(1, **(body or {}))
        if body is None:
            payload.pop("uscc")
        r = await client.post("/api/v1/appeals", json=payload, headers=bearer(key))
    answer = await r.json()
    assert r.status == status and reason in answer["error"], answer
    assert await stored(app) == before


async def test_too_big_unknown_paths_and_wrong_methods_answer_json_4xx(app, client):
    key = await new_key(app)
    r = await client.post("/api/v1/appeals", data=b"{" + b" " * 70_000 + b"}",
                          headers={**bearer(key), "Content-Type": "application/json"})
    assert r.status == 413 and "过大" in (await r.json())["error"]
    r = await client.get("/api/v1/nothing-here", headers=bearer(key))
    assert r.status == 404 and "error" in await r.json()
    r = await client.put("/api/v1/appeals", headers=bearer(key))
    assert r.status == 405 and "error" in await r.json()
    r = await client.get("/api/v1/appeals/QH20991231-9999", headers=bearer(key))
    assert r.status == 404 and "QH20991231-9999" in (await r.json())["error"]


async def test_the_same_external_id_returns_the_same_appeal(app, client):
    key = await new_key(app)
    first = await client.post("/api/v1/appeals", json=ticket(7), headers=bearer(key))
    again = await client.post("/api/v1/appeals", json=ticket(7, text="同一工单重发，内容哪怕略有不同也不再建单"),
                              headers=bearer(key))
    assert first.status == 201 and again.status == 200
    assert (await again.json())["created"] is False
    assert (await again.json())["appeal"]["number"] == (await first.json())["appeal"]["number"]
    assert (await stored(app))[0] == 1
    other = await new_key(app, "other-system", "submit")  # ids are per client: another system's 7 is new
    assert (await client.post("/api/v1/appeals", json=ticket(7), headers=bearer(other))).status == 201


async def test_cursor_pages_walk_every_appeal_once_even_while_new_ones_arrive(app, client):
    key = await new_key(app)
    for n in range(5):
        await client.post("/api/v1/appeals", json=ticket(n), headers=bearer(key))
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await client.get("/api/v1/appeals", params=params, headers=bearer(key))).json()
        seen += [a["number"] for a in page["items"]]
        if len(seen) == 2:
            await client.post("/api/v1/appeals", json=ticket(99), headers=bearer(key))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and len(set(seen)) == 6 and seen == sorted(seen)
    assert (await client.get("/api/v1/appeals", params={"cursor": "!!"}, headers=bearer(key))).status == 400
    assert (await client.get("/api/v1/appeals", params={"limit": "0"}, headers=bearer(key))).status == 400
    assert (await client.get("/api/v1/appeals", params={"limit": "100000"}, headers=bearer(key))).status == 400
    assert (await client.get("/api/v1/appeals", params={"status": "lost"}, headers=bearer(key))).status == 400
    closed = await (await client.get("/api/v1/appeals", params={"status": "closed"}, headers=bearer(key))).json()
    assert closed == {"items": [], "next_cursor": None}


async def test_personal_data_only_for_read_personal(app, client):
    submitter = await new_key(app, "submitter", "submit,read")
    personal = await new_key(app, "personal", "read,read_personal")
    body = ticket(1, text="补贴至今没有拨付到账，请回电13900001111告知进度，谢谢")
    number = (await (await client.post("/api/v1/appeals", json=body, headers=bearer(submitter))).json()
              )["appeal"]["number"]
    plain = await (await client.get(f"/api/v1/appeals/{number}", headers=bearer(submitter))).json()
    assert plain["contact"] is None and plain["phone"] is None and "13900001111" not in plain["text"]
    full = await (await client.get(f"/api/v1/appeals/{number}", headers=bearer(personal))).json()
    assert (full["contact"], full["phone"]) == ("张伟", "13800138000") and "13900001111" in full["text"]


async def test_each_key_has_its_own_rate_limit(settings, clock):
    tight = settings.model_copy(update={"api": settings.api.model_copy(update={"rate_burst": 2})})
    app = await start_app(tight, clock)
    try:
        async with TestClient(TestServer(make_web_app(app), host="127.0.0.1")) as client:
            slow = await new_key(app, "slow", "read", rate=1)
            other = await new_key(app, "other", "read", rate=1)
            codes = [(await client.get("/api/v1/sources", headers=bearer(slow))).status for _ in range(3)]
            assert codes == [200, 200, 429]
            r = await client.get("/api/v1/sources", headers=bearer(slow))
            assert r.status == 429 and int(r.headers["Retry-After"]) == 60 and "秒后重试" in (await r.json())["error"]
            assert (await client.get("/api/v1/sources", headers=bearer(other))).status == 200
            clock.advance(minutes=1)
            assert (await client.get("/api/v1/sources", headers=bearer(slow))).status == 200
    finally:
        await app.close()


async def test_the_entry_source_is_counted_in_the_pool_the_detail_and_the_kpis(app, client, chat):
    hotline = await new_key(app)
    platform = await new_key(app, "sipingtai", "submit", "基层治理四平台")
    await client.post("/api/v1/appeals", json=ticket(1), headers=bearer(hotline))
    await client.post("/api/v1/appeals", json=ticket(2), headers=bearer(hotline))
    r = await client.post("/api/v1/appeals", json=ticket(3), headers=bearer(platform))
    number = (await r.json())["appeal"]["number"]
    assert (await r.json())["appeal"]["entry_source"] == "基层治理四平台"
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    pool = await dispatcher.say("待分派")
    assert pool.count("来源：12345热线") == 2 and pool.count("来源：基层治理四平台") == 1
    assert "基层治理四平台" in await dispatcher.say(f"详情 {number}")
    stats = await leader.say("统计")
    assert "受理来源：12345热线 2 件，基层治理四平台 1 件" in stats
    sources = await (await client.get("/api/v1/sources", headers=bearer(await new_key(app, "r", "read")))).json()
    assert "12345热线" in sources["entry_sources"]


async def test_webhook_subscriptions_are_listed_and_deleted_by_their_owner_only(app, client):
    key = await new_key(app)
    other = await new_key(app, "other", "read")
    bad = await client.post("/api/v1/webhooks", json={"url": "ftp://x", "secret": "s" * 20}, headers=bearer(key))
    assert bad.status == 400 and "http" in (await bad.json())["error"]
    short = await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "secret": "short"},
                              headers=bearer(key))
    assert short.status == 400 and "secret" in (await short.json())["error"]
    made = await (await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "secret": "s" * 20},
                                    headers=bearer(key))).json()
    assert "appeal.review.verified" in made["events"] and "secret" not in made
    assert (await client.delete(f"/api/v1/webhooks/{made['id']}", headers=bearer(other))).status == 404
    listed = await (await client.get("/api/v1/webhooks", headers=bearer(key))).json()
    assert [w["id"] for w in listed["items"]] == [made["id"]]
    assert (await client.delete(f"/api/v1/webhooks/{made['id']}", headers=bearer(key))).status == 204
    assert (await client.delete(f"/api/v1/webhooks/{made['id']}", headers=bearer(key))).status == 404
    assert (await client.delete("/api/v1/webhooks/abc", headers=bearer(key))).status == 404
