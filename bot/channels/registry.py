"""Which chat channels run: one object per configured channel with its routes, sender and lifecycle."""

from __future__ import annotations

from bot.channels.ports import Channel, ChannelHost


def build_channels(app: ChannelHost) -> list[Channel]:
    """Enabled channels only; nothing connects until start()."""
    channels: list[Channel] = []
    cfg = app.settings.channels
    # Imported only when enabled: python-telegram-bot alone takes a noticeable part of start-up.
    if cfg.dingtalk.enabled:
        from bot.channels.dingtalk.channel import DingTalkChannel
        channels.append(DingTalkChannel(app, cfg.dingtalk))
    if cfg.telegram.enabled:
        from bot.channels.telegram_channel import TelegramChannel
        channels.append(TelegramChannel(app, cfg.telegram))
    return channels
