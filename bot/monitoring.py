"""HTTP routes /readyz and /metrics (the checks live in bot.health, the counters in bot.metrics)."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from bot import health
from bot.channels.webchat_channel import is_direct_loopback
from bot.metrics import CONTENT_TYPE, metrics

METRICS_REFUSED = "指标接口只对本机开放；其他来源请在 Authorization 头中携带令牌（Bearer，见 docs/operations.md）。"
METRICS_BAD_TOKEN = "指标接口令牌错误。"


def routes(app: Any) -> list[web.RouteDef]:
    """`app` is the bot.bootstrap.App being served."""
    settings = app.settings

    def running() -> list[str]:
        return [c.name for c in app.channels]

    def live_problems() -> list[str]:
        return [p for p in (c.problem() for c in app.channels) if p]

    async def readyz(request: web.Request) -> web.Response:
        result = await health.check(settings, app.runtime.calendar, app.runtime.now(), running_channels=running(),
                                    live_problems=live_problems())
        return web.json_response(result.as_json(), status=200 if result.ok else 503,
                                 dumps=_dumps)

    async def metrics_page(request: web.Request) -> web.Response:
        token = settings.monitoring.metrics_token.get_secret_value()
        if not is_direct_loopback(request):  # the demo's test: no proxy header, a loopback Host
            given = request.headers.get("Authorization", "")
            if not token:
                return web.json_response({"error": METRICS_REFUSED}, status=403, dumps=_dumps)
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return web.json_response({"error": METRICS_BAD_TOKEN}, status=401, dumps=_dumps)
        result = await health.check(settings, app.runtime.calendar, app.runtime.now(), running_channels=running(),
                                    live_problems=live_problems(),
                                    counts=True)
        body = metrics().exposition(result.snapshot)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    out = [web.get("/readyz", readyz)]
    if settings.monitoring.metrics:
        out.append(web.get("/metrics", metrics_page))
    return out


def _dumps(data: Any) -> str:
    import json
    return json.dumps(data, ensure_ascii=False)
