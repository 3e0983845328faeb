"""DingTalkChannel: the DingTalk / 浙政钉 channel as the app sees it (routes, sender, lifecycle)."""

from __future__ import annotations

from aiohttp import web

from bot.channels.dingtalk.callback import CallbackRoute
from bot.channels.dingtalk.sender import DingTalkSender
from bot.channels.dingtalk.turns import TurnRunner
from bot.channels.ports import ChannelHost
from bot.config import DingTalkConfig


class DingTalkChannel:
    """Messages come in on the signed HTTP callback; replies leave through DingTalkSender (via the outbox)."""

    def __init__(self, app: ChannelHost, cfg: DingTalkConfig) -> None:
        self.name = cfg.channel
        self.sender = DingTalkSender(cfg, app.runtime.clock)
        self.turns = TurnRunner(app, self.sender.tell_kept)
        self.callback = CallbackRoute(app, cfg, self.turns)

    def routes(self) -> list[web.RouteDef]:
        return self.callback.routes()

    async def drain(self) -> None:
        """Wait for turns still running after their callback was answered (tests, shutdown)."""
        await self.turns.drain()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.drain()
        await self.sender.close()
