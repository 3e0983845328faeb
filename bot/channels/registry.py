"""Which chat channels run: one object per configured channel with its routes, sender and lifecycle."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from bot.services.delivery import ChannelSender


class Channel(Protocol):
    name: str  # the ConversationKey.channel of its people, and the outbox channel
    sender: ChannelSender

    def routes(self) -> list[web.RouteDef]: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...


def build_channels(app: Any) -> list[Channel]:
    """Enabled channels only; nothing connects until start()."""
    channels: list[Channel] = []
    cfg = app.settings.channels
    if cfg.dingtalk.enabled:
        from bot.channels.dingtalk_channel import DingTalkChannel
        channels.append(DingTalkChannel(app, cfg.dingtalk))
    if cfg.telegram.enabled:
        from bot.channels.telegram_channel import TelegramChannel
        channels.append(TelegramChannel(app, cfg.telegram))
    return channels
