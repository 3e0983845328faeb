"""Test doubles for what is not ours: a frozen clock and a recording channel sender."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.services.delivery import DeliveryError


class FrozenClock:
    """Time stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


class RecordingSender:
    """Records what it is asked to send; can be told to fail the next N sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[DeliveryError] = []

    async def send(self, recipient: str, body: dict[str, Any], *, outbox_id: int) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((recipient, body))
