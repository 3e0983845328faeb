"""The HTTP answer to a sender over the per-sender rate limit (bot.services.ratelimit): 429 with Retry-After."""

from __future__ import annotations

import json
import math

from aiohttp import web

from bot import texts


def refusal(wait: float) -> web.Response | None:
    """None when the message may pass (`wait` 0); otherwise a 429 with Retry-After and a Chinese reason."""
    if not wait:
        return None
    seconds = max(1, math.ceil(wait))
    return web.json_response({"error": texts.RATE_LIMITED.format(seconds=seconds)}, status=429,
                             headers={"Retry-After": str(seconds)},
                             dumps=lambda value: json.dumps(value, ensure_ascii=False))
