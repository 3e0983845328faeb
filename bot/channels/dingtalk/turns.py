"""Runs a parsed robot message as a turn (pipeline, or the spool while the database is away), off the caller's task."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.channels.ports import ChannelHost
from bot.messages import InboundMessage
from bot.pipeline import Guard, TurnRejected

log = logging.getLogger(__name__)

Outcome = str | TurnRejected  # bot.spool STORED / SPOOLED / LOST, or the refusal of a replayed signature


class TurnRunner:
    """One task per message, kept so that shutdown (and tests) can wait for turns whose request was answered."""

    def __init__(self, app: ChannelHost, notify_kept: Callable[[InboundMessage], Awaitable[None]]) -> None:
        self.app = app
        self.notify_kept = notify_kept
        self._tasks: set[asyncio.Task[Outcome]] = set()

    def submit(self, msg: InboundMessage, kind: str, guard: Guard | None = None) -> asyncio.Task[Outcome]:
        task = asyncio.create_task(self._run(msg, kind, guard))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, msg: InboundMessage, kind: str, guard: Guard | None) -> Outcome:
        """STORED, SPOOLED (the database is away; the person is told), LOST (not even the spool took it), or
        the TurnRejected of a replayed signature (nothing stored, not spooled)."""
        rejected: list[TurnRejected] = []

        async def run() -> None:
            try:
                if not msg.text and not msg.attachments:
                    await self.app.pipeline.unsupported(msg, kind, guard)
                else:
                    await self.app.pipeline.handle(msg, guard)
            except TurnRejected as exc:
                log.warning("dingtalk message refused: %s (msgId %s)", exc.reason, msg.message_id[:64])
                rejected.append(exc)

        outcome = await self.app.spool.take(msg, run, self.notify_kept)
        return rejected[0] if rejected else outcome

    async def drain(self) -> None:
        """Wait for turns still running after their request was answered (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
