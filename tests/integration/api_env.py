"""A fake 12345 hotline system: a real HTTP receiver on 127.0.0.1 that checks every webhook's signature
the way docs/api.md tells a receiver to, and a key of its own in our database."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.services.api import add_client
from tests.fake_servers import _Server

SECRET = "hotline-webhook-secret-0001"


@dataclass
class Received:
    event_id: str
    type: str
    number: str
    version: int
    body: dict[str, Any]


class Fake12345(_Server):
    """Receives POST /qihu/events. Answers 401 to a bad signature or a stale timestamp (and counts it),
    `fail_next` times 503 before accepting again."""

    def __init__(self, clock: Any, secret: str = SECRET) -> None:
        super().__init__()
        self.clock = clock
        self.secret = secret
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self.fail_next = 0
        self.attempts = 0
        self.app.router.add_post("/qihu/events", self.events)

    @property
    def events_url(self) -> str:
        return self.url + "/qihu/events"

    async def events(self, request: web.Request) -> web.Response:
        self.attempts += 1
        raw = await request.read()
        stamp = request.headers.get("X-Qihu-Timestamp", "")
        given = request.headers.get("X-Qihu-Signature", "")
        # Written from docs/api.md: hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret.
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        if not stamp.isdigit() or not hmac.compare_digest(given, expected):
            self.rejected.append("signature")
            return web.Response(status=401)
        if abs(int(stamp) - self.clock.now().timestamp()) > 300:
            self.rejected.append("stale")
            return web.Response(status=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503)
        body = json.loads(raw)
        assert request.headers["X-Qihu-Event-Id"] == body["id"] and request.headers["X-Qihu-Event"] == body["type"]
        self.received.append(Received(body["id"], body["type"], body["appeal"]["number"], body["appeal"]["version"],
                                      body))
        return web.Response(status=204)

    def types(self, number: str) -> list[str]:
        return [r.type for r in self.received if r.number == number]


async def new_key(app: Any, name: str = "hotline-12345", scopes: str = "submit,read,rate",
                  source: str = "12345热线", rate: int = 600) -> str:
    async with app.runtime.uow() as uow:
        _, key = await add_client(uow, app.runtime, name, scopes.split(","), source, rate,
                                  app.settings.api.entry_sources)
        await uow.commit()
    return key


async def deliver_all(app: Any, passes: int = 10) -> None:
    """Run the outbox sender until nothing due is left (the frozen clock does not move)."""
    for _ in range(passes):
        if await app.outbox.run_once() == 0:
            return
