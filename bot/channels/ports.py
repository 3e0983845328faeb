"""What a channel is to the app (Channel) and what it needs from the app (ChannelHost)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.config import Settings
from bot.pipeline import Pipeline
from bot.services.delivery import ChannelSender, OutboxSender
from bot.services.ports import Clock
from bot.spool import Spool


class ChannelHost(Protocol):
    """The running app as a channel sees it (bot.bootstrap.App): configuration, the clock, the
    pipeline (its way in: the rate limit, turns, the mailbox), the outbox sender and the spool. No
    storage: a channel reaches the database only through the pipeline."""

    settings: Settings
    pipeline: Pipeline
    outbox: OutboxSender
    spool: Spool  # where a turn waits while the database cannot be reached

    @property
    def clock(self) -> Clock: ...


class Channel(Protocol):
    name: str  # the ConversationKey.channel of its people, and the outbox channel
    sender: ChannelSender

    def routes(self) -> list[web.RouteDef]: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def problem(self) -> str | None:
        """Why the channel cannot take messages right now (for /readyz), or None."""
        ...


@runtime_checkable
class ChannelDirectory(Protocol):
    """A channel whose organisation directory finds a person by mobile (DingTalk / 浙政钉): staff are
    then reached before they ever message the bot (bot.staff_reach)."""

    name: str

    async def user_by_mobile(self, mobile: str) -> str | None: ...
