"""HTTP plumbing shared by the sessionWebhook, DingTalk's OpenAPI and the 浙政钉 gateway: one session, one
mapping of transport failures and throttling to DeliveryError, one access-token cache with one retry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp

from bot.services.delivery import DeliveryError
from bot.services.ports import Clock

T = TypeVar("T")
TOKEN_MARGIN = timedelta(minutes=5)


def retry_after(resp: aiohttp.ClientResponse, default: float) -> float:
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else default


async def read_json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """The body as a JSON object; {} when it is not one (gateways answer errors in HTML too)."""
    try:
        data = await resp.json(content_type=None)
    except (json.JSONDecodeError, aiohttp.ContentTypeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def is_throttled(status: int, code: str) -> bool:
    return status == 429 or "throttl" in code.lower() or "flowcontrol" in code.lower()


class HttpClient:
    """One lazily created aiohttp session (it must be made inside the running loop)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def call(self, label: str, method: str, url: str, *, throttle_default: float,
                   channel_wide: bool = True, **kw: Any) -> tuple[int, dict[str, Any]]:
        """(status, JSON object) of a call below 500 and not throttled; otherwise a DeliveryError that
        the outbox retries (after Retry-After, for the whole channel when `channel_wide`)."""
        try:
            async with self.session.request(method, url, **kw) as resp:
                data = await read_json(resp)
                code = str(data.get("code", ""))
                if is_throttled(resp.status, code):
                    raise DeliveryError(f"{label}: HTTP {resp.status} {code}".rstrip(), channel_wide=channel_wide,
                                        retry_after=retry_after(resp, throttle_default))
                if resp.status >= 500:
                    raise DeliveryError(f"{label}: HTTP {resp.status}")
                return resp.status, data
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"{label}: {exc!r}") from exc
        except TimeoutError as exc:
            raise DeliveryError(f"{label}: timeout") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AuthExpired(Exception):
    """The API refused our token: fetch a new one and try once more."""


class TokenCache:
    """One access token, fetched under a lock and reused until TOKEN_MARGIN before it expires."""

    def __init__(self, clock: Clock, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> None:
        self.clock = clock
        self.fetch = fetch  # returns (token, lifetime in seconds)
        self._token: str | None = None
        self._until = clock.now()
        self._lock = asyncio.Lock()

    async def get(self, *, force: bool = False) -> str:
        async with self._lock:
            if force or not self._token or self.clock.now() >= self._until:
                self._token, lifetime = await self.fetch()
                self._until = self.clock.now() + timedelta(seconds=lifetime) - TOKEN_MARGIN
            return self._token

    async def using(self, call: Callable[[str], Awaitable[T]]) -> T:
        """`call(token)`; when it raises AuthExpired, once more with a freshly fetched token."""
        try:
            return await call(await self.get())
        except AuthExpired:
            pass
        try:
            return await call(await self.get(force=True))
        except AuthExpired as exc:
            raise DeliveryError(f"{exc} (token refused twice)") from None
