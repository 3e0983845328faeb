"""Which chat channels run: one object per configured channel with its routes, sender and lifecycle."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from bot.messages import InboundMessage, OutboundMessage
from bot.services.delivery import ChannelSender
from handlers import texts


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


async def reply_unsupported(app: Any, msg: InboundMessage, kind: str) -> None:
    """A polite answer to a message type no channel can read, deduplicated like any turn."""
    now = app.runtime.now()
    async with app.runtime.uow() as uow:
        if not await uow.inbound.claim(msg.key.channel, msg.message_id, now):
            return
        reply = OutboundMessage(msg.key, texts.UNSUPPORTED_MESSAGE.format(kind=kind), [], None, dict(msg.reply_context))
        await uow.outbox.add([reply], now)
        await uow.commit()
    app.outbox.kick()
