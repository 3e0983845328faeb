"""What the Open311 and /api/v1 routes share: the key, per-key rate limits, refusals with their HTTP codes."""

from __future__ import annotations

import base64
import json
from functools import partial
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot import texts
from bot.bootstrap import App
from bot.domain.appeal import OPEN_STATUSES, Status
from bot.domain.errors import DomainError, Forbidden, IllegalTransition, InvalidInput, NotFound
from bot.services.api import Unauthorized, authenticate
from bot.services.ports import ApiClient, UnitOfWork
from bot.services.ratelimit import SenderRateLimit
from handlers.render import refusal


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with Chinese as characters, not \\u escapes: what a person reading a log or curl sees."""
    return web.json_response(data, status=status, headers=headers, dumps=partial(json.dumps, ensure_ascii=False))


class ApiRefusal(Exception):
    """A 4xx with its reason; each API renders it in its own error format."""

    def __init__(self, status: int, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


STATUS_OF = ((Unauthorized, 401), (Forbidden, 403), (NotFound, 404), (IllegalTransition, 409), (InvalidInput, 400))


def refused(err: DomainError, *, status: int | None = None) -> ApiRefusal:
    code = status or next((s for kind, s in STATUS_OF if isinstance(err, kind)), 400)
    return ApiRefusal(code, refusal(err))


def invalid_body(err: ValidationError) -> ApiRefusal:
    """pydantic's first complaint, with the field named; the reason stays Chinese around it."""
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "body"
    if first["type"] == "missing":
        return refused(InvalidInput("api_field_missing", field=field))
    return refused(InvalidInput("api_field_invalid", field=field, reason=first["msg"]))


class KeyGate:
    """Finds the client of a request's key and holds each key to its rate (token bucket per process)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._limits: dict[str, SenderRateLimit] = {}

    @staticmethod
    def key_of(request: web.Request, form: dict[str, Any] | None = None) -> str:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return (request.headers.get("X-Api-Key") or request.query.get("api_key")
                or str((form or {}).get("api_key") or "")).strip()

    async def client(self, uow: UnitOfWork, key: str, *, missing_status: int = 401) -> ApiClient:
        if not key:
            raise refused(Unauthorized(), status=missing_status)
        try:
            client = await authenticate(uow, key)
        except Unauthorized as err:
            raise refused(err, status=missing_status) from None
        self.check_rate(client)
        return client

    def check_rate(self, client: ApiClient) -> None:
        limit = self._limits.get(client.id)
        if limit is None or limit.rate != client.rate_per_minute / 60.0:
            limit = self._limits[client.id] = SenderRateLimit(self.app.runtime.clock, client.rate_per_minute,
                                                              self.app.settings.api.rate_burst)
        wait = limit.retry_after("api", client.id)
        if wait > 0:
            seconds = max(1, round(wait))
            raise ApiRefusal(429, texts.ERRORS["api_rate_limited"].format(seconds=seconds), retry_after=seconds)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"a{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] != "a" or not raw[1:].isdigit() or len(raw) > 20:
            raise ValueError(raw)
        return int(raw[1:])
    except ValueError:
        raise refused(InvalidInput("api_cursor")) from None


OPEN = [s.value for s in OPEN_STATUSES]
CLOSED = [s.value for s in Status if s not in OPEN_STATUSES]


def statuses_of(raw: str, *, open_closed_only: bool = False) -> list[str]:
    """open / closed (as Open311 says them) or, on /api/v1, our own statuses, comma separated; empty: all."""
    own = {s.value for s in Status}
    wanted: list[str] = []
    for word in (w.strip() for w in raw.split(",") if w.strip()):
        if word == "open":
            wanted += OPEN
        elif word == "closed":
            wanted += CLOSED
        elif word in own and not open_closed_only:
            wanted.append(word)
        else:
            known = "open、closed" + ("" if open_closed_only else " 或 " + "、".join(sorted(own)))
            raise refused(InvalidInput("api_status", known=known))
    return wanted
