"""Open311 GeoReport v2 (JSON) at /open311/v2: services are the categories, service requests are appeals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot import texts
from bot.api.common import ApiRefusal, KeyGate, json_response, refused, statuses_of
from bot.bootstrap import App
from bot.channels import jsonbody
from bot.domain.appeal import Appeal, AppealEvent
from bot.domain.errors import DomainError, InvalidInput, NotFound
from bot.domain.identifiers import mask_phones_in_text
from bot.messages import unstorable
from bot.services import api, directory
from bot.services.ports import ApiClient, UnitOfWork
from bot.services.webhooks import event_type, open311_status
from handlers.render import fmt_date

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_IDS = 100  # service_request_id values in one query
MAX_RESULTS = 1000  # the spec's cap on one search
DEFAULT_DAYS = 90  # the spec's window when no date is given


@web.middleware
async def open311_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The spec's error format, [{"code": …, "description": …}], for every refusal."""
    try:
        try:
            return await handler(request)
        except DomainError as err:
            raise refused(err) from None
    except ApiRefusal as r:
        headers = {"Retry-After": str(int(r.retry_after))} if r.retry_after else None
        return json_response([{"code": r.status, "description": r.reason}], status=r.status, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = texts.HTTP_MESSAGES.get(exc.status, exc.reason)
        return json_response([{"code": exc.status, "description": reason}], status=exc.status)


def _iso(value: datetime | None, app: App) -> str | None:
    return value.astimezone(app.runtime.tz).isoformat() if value else None


class Open311:
    def __init__(self, app: App, gate: KeyGate) -> None:
        self.app = app
        self.gate = gate

    def sub_app(self) -> web.Application:
        sub = web.Application(client_max_size=self.app.settings.server.max_body_bytes, middlewares=[open311_errors])
        sub.router.add_get("/services.json", self.services)
        sub.router.add_post("/requests.json", self.post_request)
        sub.router.add_get("/requests.json", self.get_requests)
        sub.router.add_get("/requests/{id}.json", self.get_request)
        return sub

    async def services(self, request: web.Request) -> web.Response:
        """Public, as the spec has it: the categories an appeal can be filed under."""
        rt = self.app.runtime
        async with rt.uow() as uow:
            names = await directory.unit_names(uow)
        leads = {r.category: names.get(r.lead, r.lead) for r in rt.policy.routing if not r.area and not r.level}
        return json_response([
            {"service_code": c, "service_name": c, "description": f"企业诉求：{c}", "metadata": False,
             "type": "realtime", "keywords": "", "group": leads.get(c, "企业综合服务中心")}
            for c in rt.tagger.categories])

    async def _with_client(self, request: web.Request, form: dict[str, Any] | None,
                           work: Callable[[UnitOfWork, ApiClient], Awaitable[Any]], *, writes: bool = False) -> Any:
        rt = self.app.runtime
        async with rt.uow() as uow:
            # The spec answers a missing or wrong api_key with 403.
            client = await self.gate.client(uow, self.gate.key_of(request, form), missing_status=403)
            try:
                result = await work(uow, client)
            except DomainError as err:
                raise refused(err) from None
            if writes:
                await uow.commit()
        if writes:
            self.app.outbox.kick()
        return result

    async def post_request(self, request: web.Request) -> web.Response:
        form = await _form(request)

        async def work(uow: UnitOfWork, client: ApiClient) -> list[dict[str, Any]]:
            # The key and its scope are checked first (403 before 400, as the spec orders them), then the fields.
            api.require_scope(client, "submit")

            def need(name: str) -> str:
                value = str(form.get(name) or "").strip()
                if not value:
                    raise refused(InvalidInput("api_field_missing", field=name))
                return value

            code = need("service_code")
            if code not in self.app.runtime.tagger.categories:
                raise refused(NotFound("api_category", value=code))
            contact = (str(form.get("last_name") or "").strip() + str(form.get("first_name") or "").strip())
            if not contact:
                raise refused(InvalidInput("api_field_missing", field="first_name/last_name"))
            submission = api.Submission(
                company=need("attribute[company]"), uscc=need("attribute[uscc]"), contact=contact, phone=need("phone"),
                area=need("address_string"), text=need("description"), category=code,
                type=str(form.get("attribute[type]") or "求助").strip(),
                external_id=str(form.get("attribute[external_id]") or "").strip(),
                entry_source=str(form.get("attribute[entry_source]") or "").strip())
            appeal, created = await api.submit(uow, self.app.runtime, client, submission,
                                               self.app.settings.api.entry_sources)
            template = texts.API_NOTICE_CREATED if created else texts.API_NOTICE_EXISTING
            notice = template.format(number=appeal.number, promised=fmt_date(appeal.promised_at, self.app.runtime.tz))
            return [{"service_request_id": appeal.number, "service_notice": notice, "account_id": None}]
        return json_response(await self._with_client(request, form, work, writes=True))

    async def get_request(self, request: web.Request) -> web.Response:
        number = request.match_info["id"]

        async def work(uow: UnitOfWork, client: ApiClient) -> list[dict[str, Any]]:
            appeal = await api.appeal_for(uow, client, number)
            return [await self._request(uow, client, appeal, await directory.unit_names(uow))]
        return json_response(await self._with_client(request, None, work))

    async def get_requests(self, request: web.Request) -> web.Response:
        q = request.query
        ids = [i.strip() for i in q.get("service_request_id", "").split(",") if i.strip()]
        if len(ids) > MAX_IDS:
            raise refused(InvalidInput("api_id_list", max=MAX_IDS))
        statuses = statuses_of(q.get("status", ""), open_closed_only=True)
        until = api.parse_time(q["end_date"], "end_date") if q.get("end_date") else None
        since = api.parse_time(q["start_date"], "start_date") if q.get("start_date") else None

        async def work(uow: UnitOfWork, client: ApiClient) -> list[dict[str, Any]]:
            names = await directory.unit_names(uow)
            if ids:
                appeals = [a for a in [await uow.appeals.get(i.upper()) for i in ids] if a is not None]
                api.require_scope(client, "read")
                appeals = [a for a in appeals if not statuses or a.status.value in statuses]
            else:
                api.require_scope(client, "read")
                end = until or self.app.runtime.now()
                start = since or end - timedelta(days=DEFAULT_DAYS)
                appeals = await uow.api.page(0, MAX_RESULTS, statuses, start, end)
            return [await self._request(uow, client, a, names) for a in appeals]
        return json_response(await self._with_client(request, None, work))

    async def _request(self, uow: UnitOfWork, client: ApiClient, a: Appeal, names: dict[str, str]) -> dict[str, Any]:
        """One service request with the spec's fields; contact and phone only for read_personal."""
        events = await uow.appeals.events(a.number)
        personal = api.sees_personal(client)
        out: dict[str, Any] = {
            "service_request_id": a.number,
            "status": open311_status(a.status),
            "status_notes": _status_notes(a, events, personal),
            "service_name": a.category,
            "service_code": a.category,
            "description": a.text if personal else mask_phones_in_text(a.text),
            "agency_responsible": names.get(a.lead_unit_id or "", a.lead_unit_id or ""),
            "service_notice": texts.STATUS[a.status],
            "requested_datetime": _iso(a.submitted_at, self.app),
            "updated_datetime": _iso(events[-1].at if events else a.submitted_at, self.app),
            "expected_datetime": _iso(a.due_at or a.promised_at, self.app),
            "address": names.get(a.area_id, a.area_id),
            "address_id": None, "zipcode": None, "lat": None, "long": None, "media_url": None,
        }
        if personal:
            out["contact_name"], out["phone"] = a.contact, a.phone
        return out


def _status_notes(a: Appeal, events: list[AppealEvent], personal: bool) -> str:
    """The latest step other systems are told about, as on the timeline: what happened, and its note."""
    told = [e for e in events if event_type(e) is not None]
    if not told:
        return texts.STATUS[a.status]
    last = told[-1]
    note = last.note if personal else mask_phones_in_text(last.note)
    label = texts.ACTION.get(last.action, last.action.value)
    return f"{label}：{note}" if note else label



async def _form(request: web.Request) -> dict[str, Any]:
    """The spec posts form fields; JSON objects are taken too."""
    if request.content_type == "application/json":
        try:
            data = jsonbody.loads(await request.read())
        except ValueError:  # jsonbody.BodyError too: NaN, Infinity, 1e400, NUL
            raise refused(InvalidInput("api_body")) from None
        if not isinstance(data, dict):
            raise refused(InvalidInput("api_body"))
        return data
    try:
        form = dict(await request.post())
    except ValueError:
        raise refused(InvalidInput("api_body")) from None
    if unstorable([*form, *form.values()]):
        raise refused(InvalidInput("api_body"))  # NUL or a lone surrogate: no database stores it
    return form
