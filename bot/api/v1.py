"""/api/v1: appeals in and out, timelines, ratings, call-backs, webhooks; OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot import texts
from bot.api.common import (
    ApiRefusal,
    KeyGate,
    decode_cursor,
    encode_cursor,
    invalid_body,
    json_response,
    refused,
    statuses_of,
)
from bot.api.models import (
    AppealIn,
    AppealOut,
    AppealPage,
    CallbackOut,
    CallbacksOut,
    EventOut,
    RatingIn,
    RatingOut,
    RatingsOut,
    SourcesOut,
    SubmitOut,
    TimelineOut,
    WebhookIn,
    WebhookList,
    WebhookOut,
    openapi_document,
)
from bot.bootstrap import App
from bot.channels import jsonbody
from bot.domain.appeal import Appeal
from bot.domain.errors import DomainError, InvalidInput, NotFound
from bot.domain.identifiers import mask_phones_in_text
from bot.domain.rating import LEVELS
from bot.services import api, directory
from bot.services.ports import ApiClient, Rating, UnitOfWork, WebhookSubscription
from bot.services.webhooks import EVENTS, open311_status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def v1_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """{"error": reason} with the right 4xx for every refusal, aiohttp's own (404, 405, 413) included."""
    try:
        try:
            return await handler(request)
        except DomainError as err:
            raise refused(err) from None
    except ApiRefusal as r:
        headers = {"Retry-After": str(int(r.retry_after))} if r.retry_after else None
        return json_response({"error": r.reason}, status=r.status, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_response({"error": texts.HTTP_MESSAGES.get(exc.status, exc.reason)}, status=exc.status)


def appeal_out(a: Appeal, client: ApiClient, areas: dict[str, str]) -> AppealOut:
    personal = api.sees_personal(client)
    return AppealOut(
        number=a.number, external_id=a.flags.get("external_id"), entry_source=texts.source_label(a),
        status=a.status.value, status_label=texts.STATUS[a.status], open311_status=open311_status(a.status),
        category=a.category, type=a.type.value, area=areas.get(a.area_id, a.area_id),
        text=a.text if personal else mask_phones_in_text(a.text), enterprise_name=a.enterprise_name, uscc=a.uscc,
        lead_unit=areas.get(a.lead_unit_id or "", a.lead_unit_id), co_units=[areas.get(u, u) for u in a.co_unit_ids],
        submitted_at=a.submitted_at, promised_at=a.promised_at, due_at=a.due_at,
        contact=a.contact if personal else None, phone=a.phone if personal else None)


def rating_out(r: Rating) -> RatingOut:
    return RatingOut(round=r.round, level=r.level, level_label=LEVELS[r.level], solved=r.solved, comment=r.comment,
                     bad=r.bad, verdict=r.verdict, rated_at=r.rated_at)


def webhook_out(s: WebhookSubscription) -> WebhookOut:
    return WebhookOut(id=s.id, url=s.url, all_appeals=s.all_appeals, created_at=s.created_at, events=list(EVENTS))


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, content_type="application/json")



class ApiV1:
    def __init__(self, app: App, gate: KeyGate) -> None:
        self.app = app
        self.gate = gate

    def sub_app(self) -> web.Application:
        sub = web.Application(client_max_size=self.app.settings.server.max_body_bytes, middlewares=[v1_errors])
        sub.router.add_get("/openapi.json", self.openapi)
        sub.router.add_post("/appeals", self.submit)
        sub.router.add_get("/appeals", self.list)
        sub.router.add_get("/appeals/{number}", self.one)
        sub.router.add_get("/appeals/{number}/timeline", self.timeline)
        sub.router.add_get("/appeals/{number}/ratings", self.ratings)
        sub.router.add_post("/appeals/{number}/ratings", self.rate)
        sub.router.add_get("/appeals/{number}/callbacks", self.callbacks)
        sub.router.add_get("/sources", self.sources)
        sub.router.add_post("/webhooks", self.subscribe)
        sub.router.add_get("/webhooks", self.webhooks)
        sub.router.add_delete("/webhooks/{id}", self.unsubscribe)
        return sub

    async def openapi(self, request: web.Request) -> web.Response:
        return json_response(openapi_document())

    async def _body(self, request: web.Request, model: type[BaseModel]) -> Any:
        try:
            data = jsonbody.loads(await request.read() or b"null")
        except (ValueError, UnicodeDecodeError):  # jsonbody.BodyError too: NaN, Infinity, 1e400, NUL
            raise refused(InvalidInput("api_body")) from None
        if not isinstance(data, dict):
            raise refused(InvalidInput("api_body"))
        try:
            return model.model_validate(data)
        except ValidationError as err:
            raise invalid_body(err) from None

    async def _run(self, request: web.Request, work: Callable[[UnitOfWork, ApiClient], Awaitable[web.Response]],
                   body: type[BaseModel] | None = None, *, writes: bool = False,
                   scope: str | None = None) -> web.Response:
        """Authenticate, read the body, do the work in one transaction; any refusal rolls it all back."""
        rt = self.app.runtime
        async with rt.uow() as uow:
            client = await self.gate.client(uow, self.gate.key_of(request))  # who asks comes before what
            try:
                if scope:
                    api.require_scope(client, scope)
                parsed = await self._body(request, body) if body is not None else None
                response = await (work(uow, client, parsed) if body is not None else work(uow, client))  # type: ignore[call-arg]
            except DomainError as err:
                raise refused(err) from None
            if writes:
                await uow.commit()
        if writes:
            self.app.outbox.kick()  # webhook rows may have been written with the change
        return response

    async def submit(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient, body: AppealIn) -> web.Response:
            s = api.Submission(company=body.company, uscc=body.uscc, contact=body.contact, phone=body.phone,
                               area=body.area, text=body.text, category=body.category, type=body.type,
                               external_id=body.external_id or "", entry_source=body.entry_source)
            appeal, created = await api.submit(uow, self.app.runtime, client, s, self.app.settings.api.entry_sources)
            out = SubmitOut(created=created, appeal=appeal_out(appeal, client, await directory.unit_names(uow)))
            return _json(out, 201 if created else 200)
        return await self._run(request, work, AppealIn, writes=True, scope="submit")

    async def list(self, request: web.Request) -> web.Response:
        limit_max = self.app.settings.api.page_size_max
        raw_limit = request.query.get("limit", str(min(50, limit_max)))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= limit_max:
            raise refused(InvalidInput("api_limit", max=limit_max))
        after = decode_cursor(request.query["cursor"]) if request.query.get("cursor") else 0
        statuses = statuses_of(request.query.get("status", ""))

        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            api.require_scope(client, "read")
            rows = await uow.api.page(after, int(raw_limit) + 1, statuses)
            more = len(rows) > int(raw_limit)
            rows = rows[: int(raw_limit)]
            names = await directory.unit_names(uow)
            page = AppealPage(items=[appeal_out(a, client, names) for a in rows],
                              next_cursor=encode_cursor(rows[-1].id or 0) if more and rows else None)
            return _json(page)
        return await self._run(request, work)

    async def one(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            appeal = await api.appeal_for(uow, client, request.match_info["number"])
            return _json(appeal_out(appeal, client, await directory.unit_names(uow)))
        return await self._run(request, work)

    async def timeline(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            appeal = await api.appeal_for(uow, client, request.match_info["number"])
            personal = api.sees_personal(client)
            events = [EventOut(at=e.at, action=e.action.value, action_label=texts.ACTION.get(e.action, e.action.value),
                               from_status=e.from_status.value if e.from_status else None,
                               to_status=e.to_status.value, actor=e.actor.name,
                               note=e.note if personal else mask_phones_in_text(e.note))
                      for e in await uow.appeals.events(appeal.number)]
            return _json(TimelineOut(number=appeal.number, events=events))
        return await self._run(request, work)

    async def ratings(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            appeal = await api.appeal_for(uow, client, request.match_info["number"])
            rows = await uow.evaluation.ratings(appeal.id or 0)
            return _json(RatingsOut(number=appeal.number, ratings=[rating_out(r) for r in rows]))
        return await self._run(request, work)

    async def rate(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient, body: RatingIn) -> web.Response:
            rated = await api.rate(uow, self.app.runtime, client, request.match_info["number"], body.level,
                                   body.solved, body.comment, body.tags)
            return _json(rating_out(rated.rating), 201)
        return await self._run(request, work, RatingIn, writes=True, scope="rate")

    async def callbacks(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            api.require_scope(client, "callbacks")
            appeal = await api.appeal_for(uow, client, request.match_info["number"])
            rows = await uow.evaluation.callbacks(appeal.id or 0)
            return _json(CallbacksOut(number=appeal.number, callbacks=[
                CallbackOut(reason=c.reason, created_at=c.created_at, method=c.method, result=c.result,
                            satisfied=c.satisfied, done_at=c.done_at) for c in rows]))
        return await self._run(request, work)

    async def sources(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            api.require_scope(client, "read")
            return _json(SourcesOut(entry_sources=list(self.app.settings.api.entry_sources)))
        return await self._run(request, work)

    async def subscribe(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient, body: WebhookIn) -> web.Response:
            sub = await api.subscribe(uow, self.app.runtime, client, body.url, body.secret, body.all_appeals)
            return _json(webhook_out(sub), 201)
        return await self._run(request, work, WebhookIn, writes=True, scope="read")

    async def webhooks(self, request: web.Request) -> web.Response:
        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            api.require_scope(client, "read")
            return _json(WebhookList(items=[webhook_out(s) for s in await uow.api.subscriptions(client.id)]))
        return await self._run(request, work)

    async def unsubscribe(self, request: web.Request) -> web.Response:
        raw = request.match_info["id"]

        async def work(uow: UnitOfWork, client: ApiClient) -> web.Response:
            api.require_scope(client, "read")
            if not raw.isdigit() or not await uow.api.delete_subscription(client.id, int(raw), self.app.runtime.now()):
                raise NotFound("webhook_not_found", id=raw)
            return web.Response(status=204)
        return await self._run(request, work, writes=True)
