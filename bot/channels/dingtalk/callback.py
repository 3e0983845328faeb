"""The HTTP callback route: POST /channels/dingtalk/callback → source and signature checks → parse → a turn."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from functools import partial
from typing import Any

from aiohttp import web

from bot.channels import jsonbody
from bot.channels.dingtalk.inbound import PayloadError, parse_callback, to_inbound
from bot.channels.dingtalk.replay import ReplayGuard
from bot.channels.dingtalk.signing import verify_callback
from bot.channels.dingtalk.turns import TurnRunner
from bot.channels.ports import ChannelHost
from bot.channels.ratelimit import refusal
from bot.config import DingTalkConfig
from bot.pipeline import TurnRejected
from bot.spool import LOST

log = logging.getLogger(__name__)

CALLBACK_PATH = "/channels/dingtalk/callback"


def client_address(remote: str | None, forwarded_for: list[str], trusted: list[Any]) -> Any:
    """The address that sent the request: the peer, unless the peer is one of our trusted proxies; then
    X-Forwarded-For read from the right, skipping trusted hops. None when an address does not parse."""
    try:
        peer = ipaddress.ip_address(remote or "")
    except ValueError:
        return None
    if not any(peer in net for net in trusted):
        return peer  # X-Forwarded-For from anyone else is whatever the client chose to write
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return None
        if not any(address in net for net in trusted):
            break
    return address


def _error(status: int, reason: str) -> web.Response:
    # The reason as written (not \uXXXX escapes): operators read it in logs and curl output.
    return web.json_response({"error": reason}, status=status, dumps=partial(json.dumps, ensure_ascii=False))


class CallbackRoute:
    """verify → parse → pipeline; answered within `ack_seconds`."""

    def __init__(self, app: ChannelHost, cfg: DingTalkConfig, turns: TurnRunner) -> None:
        self.app = app
        self.cfg = cfg
        self.turns = turns
        self.replays = ReplayGuard(cfg.channel, cfg)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(CALLBACK_PATH, self.callback)]

    async def callback(self, request: web.Request) -> web.Response:
        now = self.app.clock.now()
        refused = self.source_refusal(request) or verify_callback(
            request.headers, self.cfg.app_secret.get_secret_value(), self.cfg.signature,
            int(now.timestamp() * 1000), self.cfg.max_clock_skew_seconds * 1000)
        if refused is not None:
            log.warning("dingtalk callback refused from %s: %s", request.remote, refused[1])
            return _error(refused[0], refused[1])
        try:
            payload = jsonbody.loads(await request.read())
        except jsonbody.BodyError as exc:
            return _error(400, exc.reason)
        if not isinstance(payload, dict):
            return _error(400, "请求体应为 JSON 对象。")
        try:
            parsed = parse_callback(payload)
        except PayloadError as exc:
            return _error(400, exc.reason)
        limited = refusal(self.app.pipeline.retry_after(self.cfg.channel, parsed.user_id))
        if limited is not None:
            return limited
        msg = to_inbound(parsed, self.cfg.channel, self.cfg.session_webhook_prefixes, now)
        task = self.turns.submit(msg, parsed.kind, self.replays.guard(request.headers, parsed.message_id, now))
        # DingTalk re-sends a message it thinks was not taken (~60 s) but never one answered 200: answer
        # fast, and only once the turn is stored or in the spool (a still-running turn is kept there too;
        # replayed after it was stored, it is a duplicate and ignored).
        done, _ = await asyncio.wait({task}, timeout=self.cfg.ack_seconds)
        outcome = task.result() if done else None
        if isinstance(outcome, TurnRejected):  # a replayed signature: nothing stored
            return _error(outcome.status, outcome.reason)
        if not (outcome != LOST if done else self.app.spool.keep(msg)):
            return _error(503, "消息暂时无法保存，请稍后重发。")
        return web.Response(body=b"{}", content_type="application/json")

    def source_refusal(self, request: web.Request) -> tuple[int, str] | None:
        if not self.cfg.source_allowlist:
            return None
        address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                                 self.cfg.trusted_proxies)
        if address is not None and any(address in net for net in self.cfg.source_allowlist):
            return None
        return 403, f"来源地址 {address or '无法识别'} 不在 channels.dingtalk.source_allowlist 中。"
