"""Open311 GeoReport v2 against the spec: a small client written from the spec's field lists and error
rules (not from our code) talks to the running routes over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.server import make_web_app
from tests.conftest import bind_staff
from tests.integration.api_env import new_key
from tests.integration.test_api_interop import TICKET

# GeoReport v2, "GET Service List": every service has these fields.
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
SERVICE_TYPES = {"realtime", "batch", "blackbox"}
# "GET Service Requests" / "GET Service Request": the fields of one request.
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
# "POST Service Request": one of service_request_id or token, plus service_notice and account_id.
POST_FIELDS = {"service_notice", "account_id"}
DATETIME_FIELDS = ("requested_datetime", "updated_datetime", "expected_datetime")


class GeoReportClient:
    """What a FixMyStreet-style system does: form-encoded POSTs with api_key, JSON format, spec errors."""

    def __init__(self, http: TestClient, api_key: str) -> None:
        self.http = http
        self.api_key = api_key

    async def services(self) -> tuple[int, Any]:
        r = await self.http.get("/open311/v2/services.json")
        return r.status, await r.json()

    async def post(self, fields: dict[str, str], *, api_key: str | None = None) -> tuple[int, Any]:
        data = {**fields, **({"api_key": self.api_key if api_key is None else api_key})}
        r = await self.http.post("/open311/v2/requests.json", data=data)
        return r.status, await r.json()

    async def get(self, request_id: str) -> tuple[int, Any]:
        r = await self.http.get(f"/open311/v2/requests/{request_id}.json", params={"api_key": self.api_key})
        return r.status, await r.json()

    async def search(self, **params: str) -> tuple[int, Any]:
        r = await self.http.get("/open311/v2/requests.json", params={**params, "api_key": self.api_key})
        return r.status, await r.json()


def spec_error(status: int, body: Any, code: int) -> str:
    """The spec's error format: an array of {code, description}; the HTTP status is the code."""
    assert status == code, body
    assert isinstance(body, list) and len(body) >= 1 and set(body[0]) == {"code", "description"}, body
    assert body[0]["code"] == code and body[0]["description"]
    return str(body[0]["description"])


def check_request(req: dict[str, Any]) -> None:
    assert set(req) >= REQUEST_FIELDS, REQUEST_FIELDS - set(req)
    assert req["status"] in ("open", "closed")
    for name in DATETIME_FIELDS:
        if req[name] is not None:
            assert datetime.fromisoformat(req[name]).tzinfo is not None, name


@pytest.fixture
async def http(app):  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(make_web_app(app), host="127.0.0.1")) as c:
        yield c


async def test_service_list_has_the_spec_fields(http):
    status, services = await GeoReportClient(http, "").services()
    assert status == 200 and services
    for s in services:
        assert set(s) == SERVICE_FIELDS and s["type"] in SERVICE_TYPES and s["metadata"] is False
    by_code = {s["service_code"]: s for s in services}
    assert by_code["水电气能源"]["group"] == "国网示范县供电公司"  # the routing rule's lead unit


async def test_post_then_get_with_the_spec_fields_and_idempotent_by_external_id(app, http):
    client = GeoReportClient(http, await new_key(app))
    status, body = await client.post(TICKET)
    assert status == 200 and isinstance(body, list) and len(body) == 1
    assert set(body[0]) >= POST_FIELDS and ("service_request_id" in body[0] or "token" in body[0])
    number = body[0]["service_request_id"]
    assert (await client.post(TICKET))[1][0]["service_request_id"] == number

    status, [req] = await client.get(number)
    assert status == 200
    check_request(req)
    assert req["service_request_id"] == number and req["status"] == "open" and req["service_code"] == "水电气能源"
    assert req["address"] == "溪口镇" and req["agency_responsible"] == "" and req["status_notes"].startswith("提交诉求")
    assert req["expected_datetime"].startswith("2026-12-0")  # the promised date until dispatch sets a deadline
    assert "phone" not in req and "contact_name" not in req

    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    await dispatcher.say(f"分派 {number} 供电公司")
    _, [req] = await client.get(number)
    assert req["agency_responsible"] == "国网示范县供电公司" and req["status_notes"].startswith("交办")


async def test_search_by_ids_status_and_dates(app, http, clock):
    client = GeoReportClient(http, await new_key(app))
    first = (await client.post(TICKET))[1][0]["service_request_id"]
    clock.advance(days=2)
    second = (await client.post({**TICKET, "attribute[external_id]": "12345-B"}))[1][0]["service_request_id"]
    status, found = await client.search(service_request_id=f"{first},{second},QH20000101-0001")
    assert status == 200 and [r["service_request_id"] for r in found] == [first, second]
    for r in found:
        check_request(r)
    assert [r["service_request_id"] for r in (await client.search())[1]] == [first, second]
    after = (await client.search(start_date="2026-11-26T00:00:00+08:00"))[1]
    assert [r["service_request_id"] for r in after] == [second]
    before = (await client.search(end_date="2026-11-26T00:00:00+08:00"))[1]
    assert [r["service_request_id"] for r in before] == [first]
    assert (await client.search(status="closed"))[1] == []
    assert len((await client.search(status="open"))[1]) == 2
    spec_error(*(await client.search(start_date="yesterday")), 400)
    spec_error(*(await client.search(status="in_progress")), 400)


async def test_errors_in_the_spec_format_with_the_spec_codes(app, http):
    client = GeoReportClient(http, await new_key(app))
    assert "密钥" in spec_error(*(await client.post(TICKET, api_key="")), 403)
    spec_error(*(await client.post(TICKET, api_key="qh_12345678_wrong")), 403)
    spec_error(*(await client.post({}, api_key="")), 403)  # who asks is checked before what is asked
    spec_error(*(await client.post({k: v for k, v in TICKET.items() if k != "service_code"})), 400)
    assert "service_code" in spec_error(*(await client.post({**TICKET, "service_code": "不存在的类别"})), 404)
    assert "乡镇" in spec_error(*(await client.post({**TICKET, "address_string": "火星基地"})), 400)
    assert "第 18 位" in spec_error(*(await client.post({**TICKET, "attribute[uscc]": "91330825MA2DH4KX3T"})), 400)
    spec_error(*(await client.get("QH20991231-0001")), 404)
    r = await http.get("/open311/v2/requests.xml")
    spec_error(r.status, await r.json(), 404)
    reader = GeoReportClient(http, await new_key(app, "reader", "read"))
    assert "submit" in spec_error(*(await reader.post(TICKET)), 403)
    assert "submit" in spec_error(*(await reader.post({})), 403)
    async with app.database.engine.connect() as conn:
        from sqlalchemy import func, select

        from storage import tables as t
        assert (await conn.execute(select(func.count()).select_from(t.appeals))).scalar_one() == 0


async def test_personal_data_only_for_keys_with_read_personal(app, http):
    submitter = GeoReportClient(http, await new_key(app))
    number = (await submitter.post(TICKET))[1][0]["service_request_id"]
    personal = GeoReportClient(http, await new_key(app, "personal", "read,read_personal"))
    [req] = (await personal.get(number))[1]
    assert (req["contact_name"], req["phone"]) == ("张伟", "13800138000")
    [req] = (await submitter.get(number))[1]
    assert "phone" not in req and "13800138000" not in str(req)
