"""Webhook deliveries: the outbox's sender for channel "webhook", signing each POST with the subscription's secret."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.services import webhooks
from bot.services.delivery import DeliveryError
from bot.services.ports import Clock, WebhookSubscription


class WebhookSender:
    """POST the stored event to the subscription's URL; a 2xx answer is delivery. A gone subscription
    or a 410 is permanent (dead at once), 429 and 5xx and timeouts are retried with the outbox's backoff."""

    def __init__(self, subscription: Callable[[str], Awaitable[WebhookSubscription | None]], clock: Clock,
                 timeout: float) -> None:
        self.subscription = subscription  # recipient → its live subscription (bot.services.webhooks)
        self.clock = clock
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, recipient: str, body: dict[str, Any], *, outbox_id: int) -> None:
        sub = await self.subscription(recipient)
        if sub is None:
            raise DeliveryError(f"webhook subscription {recipient.split('/', 1)[0]} was deleted", permanent=True)
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = int(self.clock.now().timestamp())
        headers = {"Content-Type": "application/json; charset=utf-8", webhooks.TIMESTAMP_HEADER: str(stamp),
                   webhooks.SIGNATURE_HEADER: webhooks.sign(sub.secret, stamp, raw),
                   webhooks.EVENT_HEADER: str(body.get("type", "")), webhooks.EVENT_ID_HEADER: str(body.get("id", "")),
                   "User-Agent": "qihu-webhooks/1"}
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(sub.url, data=raw, headers=headers, allow_redirects=False) as resp:
                if 200 <= resp.status < 300:
                    return
                retry_after = _seconds(resp.headers.get("Retry-After"))
                raise DeliveryError(f"webhook {sub.url}: HTTP {resp.status}", retry_after=retry_after,
                                    permanent=resp.status == 410)
        except TimeoutError as exc:
            raise DeliveryError(f"webhook {sub.url}: timeout") from exc
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"webhook {sub.url}: {exc!r}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None

