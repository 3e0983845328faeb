"""aiohttp application factory: channel routes, /healthz, JSON errors instead of tracebacks."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.bootstrap import App
from bot.channels.webchat_channel import WebChat, security_headers

log = logging.getLogger(__name__)
APP_KEY = web.AppKey("qihu_app", App)

HTTP_MESSAGES = {
    400: "请求格式错误。", 404: "没有这个地址。", 405: "不支持这种请求方法。",
    413: "请求体过大。", 415: "不支持的内容类型。",
}


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
    from bot.monitoring import routes as monitoring_routes
    web_app.add_routes(monitoring_routes(app))
    if app.settings.webchat.enabled:
        web_app.add_routes(WebChat(app).routes())
    for channel in app.channels:  # only the configured ones (bot.channels.registry)
        web_app.add_routes(channel.routes())
    return web_app


async def serve(app: App, config_path: str | None = None) -> web.AppRunner:
    """Prepare the database, start background work and listen; the caller keeps the loop alive."""
    await app.prepare_database()
    from bot.startup import security_warnings
    for warning in security_warnings(app.settings):
        log.warning("security: %s", warning)
    from bot.health import warn_calendar
    warn_calendar(app.runtime.calendar, app.runtime.now(), app.settings.monitoring.calendar_horizon_days)
    app.load_nlp_in_background()
    await app.start_spool()
    await app.start_delivery(config_path)
    if app.settings.scheduler.enabled:
        app.start_scheduler()
    await app.start_channels()
    runner = web.AppRunner(make_web_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.server.host, app.settings.server.port)
    await site.start()
    log.info("qihu listening on http://%s:%s/", app.settings.server.host, app.settings.server.port)
    return runner
