"""Outbox sender: delivers stored messages through channel senders, in order, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.services.ports import Clock, OutboxRow, UnitOfWork

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send failed. `retry_after` (seconds) comes from the API when it names one;
    `permanent` means retrying cannot help (unknown recipient, bad request); `channel_wide` means
    the whole channel is throttled (HTTP 429), so no recipient should be tried before `retry_after`."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False,
                 channel_wide: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.channel_wide = channel_wide


class ChannelSender(Protocol):
    async def send(self, recipient: str, body: dict[str, Any], *, outbox_id: int) -> None: ...


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 5.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None) -> float:
        backoff = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        jittered = backoff * (0.5 + rng.random() / 2)
        return max(jittered, retry_after or 0.0)


class OutboxSender:
    """Sends every pending row once it is due; one recipient's messages go strictly in order."""

    LEASE = timedelta(minutes=2)

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock, senders: dict[str, ChannelSender],
                 retry: RetryPolicy | None = None, rng: random.Random | None = None) -> None:
        self.uow = uow
        self.clock = clock
        self.senders = senders
        self.retry = retry or RetryPolicy()
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._paused: dict[str, datetime] = {}  # channel → not before (after a channel-wide 429)

    def kick(self) -> None:
        self._wake.set()

    async def run_once(self, limit: int = 500) -> int:
        """One pass over pending rows; returns how many were delivered."""
        async with self._pass_lock:
            async with self.uow() as uow:
                rows = await uow.outbox.pending(list(self.senders), limit)
            queues: dict[tuple[str, str], list[OutboxRow]] = {}
            now = self.clock.now()
            for row in rows:
                if self._paused.get(row.channel, now) > now:
                    continue
                queues.setdefault((row.channel, row.recipient), []).append(row)
            results = await asyncio.gather(*(self._drain(q) for q in queues.values()))
            return sum(results)

    async def _drain(self, queue: list[OutboxRow]) -> int:
        sent = 0
        for row in queue:
            if not await self._send(row):
                break  # keep the recipient's order: later rows wait for this one
            sent += 1
        return sent

    async def _send(self, row: OutboxRow) -> bool:
        now = self.clock.now()
        if row.next_attempt_at > now or self._paused.get(row.channel, now) > now:
            return False
        async with self.uow() as uow:
            claimed = await uow.outbox.claim(row.id, now, now + self.LEASE)
            await uow.commit()
        if not claimed:
            return False
        error: DeliveryError | None = None
        try:
            await self.senders[row.channel].send(row.recipient, row.body, outbox_id=row.id)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug or network trouble in a sender must not stop the loop
            log.exception("sender %s failed on outbox %s", row.channel, row.id)
            error = DeliveryError(repr(exc))
        async with self.uow() as uow:
            done = self.clock.now()
            if error is None:
                await uow.outbox.mark_sent(row.id, done)
            else:
                attempts = row.attempts + 1
                dead = error.permanent or attempts >= self.retry.max_attempts
                delay = self.retry.delay(attempts, self.rng, error.retry_after)
                if error.channel_wide and error.retry_after:
                    self._paused[row.channel] = done + timedelta(seconds=error.retry_after)
                await uow.outbox.mark_failed(row.id, attempts=attempts, error=str(error), dead=dead,
                                             next_attempt_at=done + timedelta(seconds=delay))
                log.warning("outbox %s to %s:%s failed (attempt %s%s): %s", row.id, row.channel,
                            row.recipient, attempts, ", dead" if dead else "", error)
            await uow.commit()
        return error is None

    async def run_forever(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
            self._wake.clear()


async def list_outbox(uow: UnitOfWork, status: str | None, limit: int = 50) -> list[OutboxRow]:
    """Newest first; `status` None lists every state (pending, sent, dead)."""
    return await uow.outbox.recent(status, limit)


async def retry_outbox(uow: UnitOfWork, outbox_id: int, now: datetime) -> bool:
    """Put a dead (or pending) row back in the queue, due now, with a fresh attempt budget.
    False when there is no such row or it was already sent; the caller commits."""
    return await uow.outbox.requeue(outbox_id, now)
