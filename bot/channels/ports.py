"""What a channel is to the app (Channel) and what it needs from the app (ChannelHost)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from bot.channels.ratelimit import SenderRateLimit
from bot.config import Settings
from bot.pipeline import Pipeline
from bot.services.delivery import ChannelSender, OutboxSender
from bot.services.runtime import Runtime
from bot.spool import Spool


class ChannelHost(Protocol):
    """The running app as a channel sees it (bot.bootstrap.App): configuration, clock and storage,
    the pipeline a message goes into, the outbox sender, the per-sender rate limit its channels share,
    and the spool."""

    settings: Settings
    runtime: Runtime
    pipeline: Pipeline
    outbox: OutboxSender
    rate_limit: SenderRateLimit
    spool: Spool  # where a turn waits while the database cannot be reached


class Channel(Protocol):
    name: str  # the ConversationKey.channel of its people, and the outbox channel
    sender: ChannelSender

    def routes(self) -> list[web.RouteDef]: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...
