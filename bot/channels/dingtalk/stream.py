"""Stream mode: an authenticated websocket to DingTalk (official dingtalk-stream SDK) instead of the HTTP callback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import websockets
from dingtalk_stream import (
    AckMessage,
    CallbackHandler,
    CallbackMessage,
    ChatbotMessage,
    Credential,
    DingTalkStreamClient,
)
from dingtalk_stream.version import VERSION_STRING

from bot.channels.dingtalk.inbound import PayloadError, parse_callback, to_inbound
from bot.channels.dingtalk.turns import TurnRunner
from bot.channels.ports import ChannelHost
from bot.config import DingTalkConfig
from bot.pipeline import TurnRejected
from bot.spool import LOST

log = logging.getLogger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
FIRST_RETRY_SECONDS = 1.0
STOP_GRACE_SECONDS = 10.0  # on shutdown, turns already running get this long to be stored and acknowledged


class PingIsKnown(logging.Filter):
    """SDK 0.24.3 acknowledges the gateway's SYSTEM ping correctly but warns "unknown message topic" each time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (str(record.msg).startswith("unknown message topic") and record.args
                    and isinstance(record.args, tuple) and record.args[0] == "ping")


SDK_LOG = logging.getLogger(__name__ + ".sdk")
SDK_LOG.addFilter(PingIsKnown())


class NotTaken(Exception):
    """The message could not be stored, not even in the spool: leave it unacknowledged, DingTalk sends it again."""


class RobotMessages(CallbackHandler):
    """Topic /v1.0/im/bot/messages/get: the frame's data is the HTTP callback's body, and it becomes the same
    turn (pipeline, msgId dedupe, outbox). The SDK sends the ack when this returns, so only after the turn
    (or the spool) has stored it."""

    def __init__(self, app: ChannelHost, cfg: DingTalkConfig, turns: TurnRunner) -> None:
        super().__init__()
        self.app = app
        self.cfg = cfg
        self.turns = turns

    async def raw_process(self, callback_message: CallbackMessage) -> AckMessage | None:
        try:
            return await super().raw_process(callback_message)
        except NotTaken:
            return None  # the SDK sends no ack

    async def process(self, message: CallbackMessage) -> tuple[int, str]:
        payload = message.data
        if not isinstance(payload, dict):
            return AckMessage.STATUS_BAD_REQUEST, "data is not a JSON object"
        try:
            parsed = parse_callback(payload)
        except PayloadError as exc:
            # Acknowledged all the same: DingTalk would only send the same unusable body again.
            log.warning("dingtalk stream frame %s refused: %s", message.headers.message_id, exc.reason)
            return AckMessage.STATUS_BAD_REQUEST, exc.reason
        if self.app.pipeline.retry_after(self.cfg.channel, parsed.user_id):
            log.warning("dingtalk stream message from %s over the per-sender rate: dropped", parsed.user_id[:64])
            return AckMessage.STATUS_OK, "rate limited"  # as the callback's 429: refused, not retried
        msg = to_inbound(parsed, self.cfg.channel, self.cfg.session_webhook_prefixes, self.app.clock.now())
        outcome = await self.turns.submit(msg, parsed.kind)
        if outcome == LOST:
            raise NotTaken
        if isinstance(outcome, TurnRejected):  # NUL or a lone surrogate: nothing stored, and a resend would not be
            return AckMessage.STATUS_BAD_REQUEST, outcome.reason
        return AckMessage.STATUS_OK, "OK"


class StreamClient(DingTalkStreamClient):
    """The SDK's client with its frame routing, handlers and acks, and a connection loop of ours. SDK 0.24.3's
    own loop could not be used: it opens the connection with blocking `requests` in the event loop, reads the
    endpoint from the environment at import time, retries every 10 s without backoff and cannot be stopped."""

    def __init__(self, app: ChannelHost, cfg: DingTalkConfig, turns: TurnRunner) -> None:
        super().__init__(Credential(cfg.app_key, cfg.app_secret.get_secret_value()), logger=SDK_LOG)
        self.cfg = cfg
        self.open_url = f"{cfg.base_url}{OPEN_PATH}"
        self.register_callback_handler(ChatbotMessage.TOPIC, RobotMessages(app, cfg, turns))
        self.sleep: Callable[[float], Awaitable[object]] = asyncio.sleep  # tests wait on the frozen clock instead
        self.connections = 0
        self._frames: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.connected = False  # a websocket to the gateway is open now (/readyz)

    async def open_stream(self) -> dict[str, Any] | None:
        """POST the credentials and subscriptions (the SDK's body); DingTalk answers {endpoint, ticket}."""
        topics = [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": topics, "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
                "localIp": self.get_host_ip()}
        timeout = aiohttp.ClientTimeout(total=self.cfg.http_timeout_seconds)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                    self.open_url, json=body) as resp:
                if resp.status != 200:
                    log.error("dingtalk stream: connections/open answered HTTP %s: %s", resp.status,
                              (await resp.text())[:200])
                    return None
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.error("dingtalk stream: connections/open failed: %r", exc)
            return None
        if not isinstance(data, dict) or not data.get("endpoint") or not data.get("ticket"):
            return None
        return data

    def start_background(self) -> None:
        self.pre_start()
        self._task = asyncio.create_task(self.run())

    async def run(self) -> None:
        """Connect, read frames until the socket closes, wait (1 s doubling up to the ceiling), reconnect.
        A connection that delivered frames resets the wait; unacknowledged frames come again after it."""
        failures = 0
        while not self._stopping:
            took_frames = False
            try:
                connection = await self.open_stream()
                if connection is not None:
                    uri = f'{connection["endpoint"]}?ticket={quote_plus(str(connection["ticket"]))}'
                    async with websockets.connect(uri) as websocket:
                        self.websocket = websocket
                        self.connections += 1
                        self.connected = True
                        log.info("dingtalk stream connected (%s)", self.connections)
                        try:
                            async for raw in websocket:
                                took_frames = True
                                task = asyncio.create_task(self._frame(raw))
                                self._frames.add(task)
                                task.add_done_callback(self._frames.discard)
                        finally:
                            self.connected = False
                    log.warning("dingtalk stream closed by the gateway")
            except (OSError, websockets.exceptions.WebSocketException) as exc:
                log.warning("dingtalk stream connection lost: %r", exc)
            except Exception:
                log.exception("dingtalk stream: unexpected failure; reconnecting")  # the loop must outlive it
            if self._stopping:
                break
            failures = 0 if took_frames else failures + 1
            wait = FIRST_RETRY_SECONDS * 2 ** max(0, failures - 1)
            await self.sleep(min(self.cfg.stream_reconnect_max_seconds, wait))

    async def _frame(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("dingtalk stream: a frame that is not JSON ignored")
            return
        if isinstance(frame, dict):
            await self.background_task(frame)  # the SDK: route by type/topic, run the handler, send its ack

    async def stop(self) -> None:
        """Let running turns finish and acknowledge (bounded), then close the socket and end the loop."""
        self._stopping = True
        if self._frames:
            await asyncio.wait(set(self._frames), timeout=STOP_GRACE_SECONDS)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
