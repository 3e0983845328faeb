"""DingTalkChannel: the DingTalk / 浙政钉 channel as the app sees it (routes, sender, lifecycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.channels.dingtalk.callback import CallbackRoute
from bot.channels.dingtalk.sender import DingTalkSender
from bot.channels.dingtalk.turns import TurnRunner
from bot.channels.ports import ChannelHost
from bot.config import DingTalkConfig

STREAM_DOWN = "钉钉 Stream 未连接（正在重连，见日志 dingtalk stream）"  # /readyz: messages cannot arrive now

if TYPE_CHECKING:
    from bot.channels.dingtalk.stream import StreamClient


class DingTalkChannel:
    """Messages come in on the signed HTTP callback or, with transport = "stream", on the Stream websocket;
    replies leave through DingTalkSender (via the outbox) either way."""

    def __init__(self, app: ChannelHost, cfg: DingTalkConfig) -> None:
        self.name = cfg.channel
        self.sender = DingTalkSender(cfg, app.clock)
        self.turns = TurnRunner(app, self.sender.tell_kept)
        self.callback: CallbackRoute | None = None
        self.stream: StreamClient | None = None
        if cfg.transport == "stream":
            # Imported only in stream mode: the SDK pulls in requests and websockets.
            from bot.channels.dingtalk.stream import StreamClient
            self.stream = StreamClient(app, cfg, self.turns)
        else:
            self.callback = CallbackRoute(app, cfg, self.turns)

    async def user_by_mobile(self, mobile: str) -> str | None:
        """The person's id in the org directory (DingTalk userid, 浙政钉 accountId), or None: a ChannelDirectory."""
        return await self.sender.api.user_by_mobile(mobile)

    def routes(self) -> list[web.RouteDef]:
        return self.callback.routes() if self.callback is not None else []

    def problem(self) -> str | None:
        if self.stream is not None and not self.stream.connected:
            return STREAM_DOWN
        return None

    async def drain(self) -> None:
        """Wait for turns still running after their callback was answered (tests, shutdown)."""
        await self.turns.drain()

    async def start(self) -> None:
        if self.stream is not None:
            self.stream.start_background()

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
        await self.drain()
        await self.sender.close()
