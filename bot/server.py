"""aiohttp application factory: channel routes, /healthz, JSON errors instead of tracebacks."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from aiohttp import web

from bot import texts
from bot.api.common import KeyGate
from bot.api.open311 import Open311
from bot.api.v1 import ApiV1
from bot.bootstrap import App
from bot.channels.webchat_channel import WebChat, security_headers

log = logging.getLogger(__name__)
APP_KEY = web.AppKey("qihu_app", App)

HTTP_MESSAGES = texts.HTTP_MESSAGES


@web.middleware
async def json_errors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Every refusal is JSON with a Chinese reason; an unexpected error is logged, never shown."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response({"error": HTTP_MESSAGES.get(exc.status, exc.reason)}, status=exc.status)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "服务暂时不可用，请稍后重试。"}, status=503)


LINK_STATUS = {"format": 404, "incomplete": 400, "forged": 403, "expired": 410, "not_allowed": 403}


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def report_download(request: web.Request) -> web.Response:
    """GET /reports/<period>.<fmt>?by=&exp=&sig=: the file a chat link promised, or a 4xx saying why not."""
    import asyncio
    from urllib.parse import quote

    from bot.domain.errors import DomainError
    from bot.reports.content import build
    from bot.reports.files import CONTENT_TYPES, report_bytes
    from bot.services.cases import report_with_cases
    from bot.texts import REPORT_LINK_ERRORS, SOURCE
    from handlers.render import fmt_time, refusal

    app = request.app[APP_KEY]
    runtime = app.runtime
    period, _, fmt = request.match_info["file"].rpartition(".")
    q = request.query
    by, exp = q.get("by", ""), q.get("exp", "")
    reason = runtime.links.check(period, fmt, by, exp, q.get("sig", ""), runtime.now()) if runtime.links else "off"
    if reason is None and by not in {s.id for s in app.settings.staff if s.role in ("leader", "dispatcher")}:
        reason = "not_allowed"  # the link outlived its holder's role
    if reason is not None:
        at = datetime.fromtimestamp(int(exp), UTC) if exp.isdigit() and len(exp) < 12 else None
        return _refuse(LINK_STATUS.get(reason, 404),
                       REPORT_LINK_ERRORS[reason].format(period=period, at=fmt_time(at, runtime.tz)))
    async with runtime.uow() as uow:
        try:
            kpi, cases = await report_with_cases(uow, runtime, period)
        except DomainError as err:
            return _refuse(400, refusal(err))
    content = build(kpi, app.settings.evaluation.ranking_min_sample, {k.value: v for k, v in SOURCE.items()}, cases)
    data = await asyncio.to_thread(report_bytes, content, fmt, runtime.tz)
    name = f"企业服务指数报告-{kpi.period.label}.{fmt}"
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPES[fmt], "Cache-Control": "no-store",
                                            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def make_web_app(app: App) -> web.Application:
    web_app = web.Application(client_max_size=app.settings.server.max_body_bytes, middlewares=[json_errors])
    web_app[APP_KEY] = app
    headers = security_headers(app.settings.webchat.frame_ancestors)

    async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(headers)

    web_app.on_response_prepare.append(add_security_headers)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "nlp_ready": app.runtime.tagger.tokenizer.ready})

    web_app.router.add_get("/healthz", healthz)  # liveness; readiness is /readyz (bot.monitoring)
    web_app.router.add_get("/reports/{file}", report_download)  # signed links from 报告 / 指数
    from bot.monitoring import routes as monitoring_routes
    web_app.add_routes(monitoring_routes(app))
    if app.settings.webchat.enabled:
        web_app.add_routes(WebChat(app).routes())
    for channel in app.channels:  # only the configured ones (bot.channels.registry)
        web_app.add_routes(channel.routes())
    if app.settings.api.enabled:  # other systems: Open311 and /api/v1, each with its own error format
        gate = KeyGate(app)
        web_app.add_subapp("/open311/v2", Open311(app, gate).sub_app())
        web_app.add_subapp("/api/v1", ApiV1(app, gate).sub_app())
    return web_app


async def serve(app: App, config_path: str | None = None) -> web.AppRunner:
    """Prepare the database, start background work and listen; the caller keeps the loop alive."""
    await app.prepare_database()
    from bot.startup import security_warnings
    for warning in security_warnings(app.settings):
        log.warning("security: %s", warning)
    await app.link_demo_staff()
    from bot.health import warn_calendar
    warn_calendar(app.runtime.calendar, app.runtime.now(), app.settings.monitoring.calendar_horizon_days)
    app.load_nlp_in_background()
    await app.start_spool()
    await app.start_delivery(config_path)
    if app.settings.scheduler.enabled:
        app.start_scheduler()
    await app.start_channels()
    app.start_staff_lookups()
    runner = web.AppRunner(make_web_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.server.host, app.settings.server.port)
    await site.start()
    log.info("qihu listening on http://%s:%s/", app.settings.server.host, app.settings.server.port)
    return runner
