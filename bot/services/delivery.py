"""Outbox sender: delivers stored messages through channel senders, in order, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.messages import ConversationKey, OutboundMessage
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
        self.forward: Callable[[], None] | None = None  # set when the sender runs in another process
        self.on_delivery: Callable[[str, str], None] | None = None  # (channel, sent|retry|dead): bot.metrics

    def stored(self, messages: Sequence[OutboundMessage]) -> None:
        """A transaction committed these messages to the outbox: wake the sender, unless a mailbox has
        every one already (bot.messages.MAILBOX_CHANNELS: the web chat's turns wake nobody)."""
        if any(not m.delivered_on_store for m in messages):
            self.kick()

    def kick(self) -> None:
        """Something new was committed to send."""
        if self.forward is not None:
            self.forward()
        else:
            self._wake.set()

    async def run_once(self, limit: int = 500) -> int:
        """One pass over pending rows; returns how many were delivered.

        Claims and results are written in one transaction each per pass, not two per message: under
        load the sender would otherwise take the (SQLite: only) write connection twice per reply."""
        async with self._pass_lock:
            now = self.clock.now()
            async with self.uow() as uow:
                rows = await uow.outbox.pending(list(self.senders), limit)
                queues: dict[tuple[str, str], list[OutboxRow]] = {}
                blocked: set[tuple[str, str]] = set()
                for row in rows:
                    key = (row.channel, row.recipient)
                    if key in blocked:
                        continue
                    if row.next_attempt_at > now or self._paused.get(row.channel, now) > now:
                        blocked.add(key)  # keep the recipient's order: later rows wait for this one
                        continue
                    queues.setdefault(key, []).append(row)
                wanted = [r.id for q in queues.values() for r in q]
                claimed = set(await uow.outbox.claim_many(wanted, now, now + self.LEASE)) if wanted else set()
                await uow.commit()
            runs = []
            for queue in queues.values():
                mine = []
                for row in queue:
                    if row.id not in claimed:
                        break  # another sender has it: keep the order, leave the rest for later
                    mine.append(row)
                if mine:
                    runs.append(mine)
            results = await asyncio.gather(*(self._drain(q) for q in runs))
            tried = [r for rs in results for r in rs]
            untried = claimed - {row.id for row, _ in tried}  # behind a failure, a pause or another sender
            await self._record(tried, sorted(untried))
            return sum(1 for _, error in tried if error is None)

    async def _drain(self, queue: list[OutboxRow]) -> list[tuple[OutboxRow, DeliveryError | None]]:
        """Send one recipient's rows in order, stopping at the first failure."""
        done: list[tuple[OutboxRow, DeliveryError | None]] = []
        for row in queue:
            now = self.clock.now()
            if self._paused.get(row.channel, now) > now:
                break  # another recipient's send found the whole channel throttled
            error = await self._send(row)
            done.append((row, error))
            if error is not None:
                if error.channel_wide and error.retry_after:
                    self._paused[row.channel] = self.clock.now() + timedelta(seconds=error.retry_after)
                break
        return done

    async def _send(self, row: OutboxRow) -> DeliveryError | None:
        try:
            await self.senders[row.channel].send(row.recipient, row.body, outbox_id=row.id)
        except DeliveryError as exc:
            return exc
        except Exception as exc:  # a bug or network trouble in a sender must not stop the loop
            log.exception("sender %s failed on outbox %s", row.channel, row.id)
            return DeliveryError(repr(exc))
        return None

    async def _record(self, results: list[tuple[OutboxRow, DeliveryError | None]], unsent: list[int]) -> None:
        """Store a pass's outcome; rows not tried (behind a failure) are released at once, not at lease end."""
        done = self.clock.now()
        async with self.uow() as uow:
            sent = [row.id for row, error in results if error is None]
            if sent:
                await uow.outbox.mark_sent_many(sent, done)
            if unsent:
                await uow.outbox.release_many(unsent, done)
            for row, error in results:
                if error is None:
                    if self.on_delivery is not None:
                        self.on_delivery(row.channel, "sent")
                    continue
                attempts = row.attempts + 1
                dead = error.permanent or attempts >= self.retry.max_attempts
                if self.on_delivery is not None:
                    self.on_delivery(row.channel, "dead" if dead else "retry")
                delay = self.retry.delay(attempts, self.rng, error.retry_after)
                if error.channel_wide and error.retry_after:
                    self._paused[row.channel] = done + timedelta(seconds=error.retry_after)
                await uow.outbox.mark_failed(row.id, attempts=attempts, error=str(error), dead=dead,
                                             next_attempt_at=done + timedelta(seconds=delay))
                log.warning("outbox %s to %s:%s failed (attempt %s%s): %s", row.id, row.channel,
                            row.recipient, attempts, ", dead" if dead else "", error)
            await uow.commit()

    async def run_forever(self, poll_seconds: float, stop: asyncio.Event | None = None) -> None:
        """Pass after pass until `stop` is set (a pass under way finishes first)."""
        while stop is None or not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
            self._wake.clear()


async def mailbox(uow: UnitOfWork, key: ConversationKey, after_id: int, limit: int) -> list[OutboxRow]:
    """One person's stored messages after the cursor `after_id`, oldest first: what a mailbox
    channel's page fetches (its rows were delivered by being stored)."""
    return await uow.outbox.for_recipient(key.channel, key.user_id, after_id, limit)


async def list_outbox(uow: UnitOfWork, status: str | None, limit: int = 50) -> list[OutboxRow]:
    """Newest first; `status` None lists every state (pending, sent, dead)."""
    return await uow.outbox.recent(status, limit)


async def retry_outbox(uow: UnitOfWork, outbox_id: int, now: datetime) -> bool:
    """Put a dead (or pending) row back in the queue, due now, with a fresh attempt budget.
    False when there is no such row or it was already sent; the caller commits."""
    return await uow.outbox.requeue(outbox_id, now)
