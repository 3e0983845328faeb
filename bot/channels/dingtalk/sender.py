"""DingTalkSender (the outbox's ChannelSender): the sessionWebhook while it is valid, else the dialect's API."""

from __future__ import annotations

import logging
from typing import Any

from bot import texts
from bot.channels.dingtalk.api import DingTalkApi
from bot.channels.dingtalk.http import HttpClient
from bot.channels.dingtalk.inbound import int_or_none, is_allowed_webhook
from bot.channels.dingtalk.render import robot_message
from bot.channels.dingtalk.zzd import ZzdApi
from bot.config import DingTalkConfig
from bot.messages import InboundMessage
from bot.services.ports import Clock

log = logging.getLogger(__name__)

SESSION_MARGIN_MS = 60 * 1000  # do not start a webhook reply in the last minute of its life
SESSION_THROTTLE_SECONDS = 60.0  # a throttled session: wait this long unless DingTalk says otherwise


class DingTalkSender:
    """ChannelSender: the sessionWebhook while it is valid (and on an allowed host), else the dialect's API."""

    def __init__(self, cfg: DingTalkConfig, clock: Clock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.http = HttpClient(cfg.http_timeout_seconds)
        self.api: DingTalkApi | ZzdApi = (ZzdApi if cfg.dialect == "zzd" else DingTalkApi)(cfg, clock, self.http)

    async def send(self, recipient: str, body: dict[str, Any], *, outbox_id: int) -> None:
        ctx = body.get("reply_context") or {}
        webhook = self._usable_webhook(ctx)
        if webhook and await self._session_reply(webhook, body, str(ctx.get("staff_id", ""))):
            return
        await self.api.send(recipient, body, outbox_id)

    def _usable_webhook(self, ctx: dict[str, Any]) -> str:
        webhook = str(ctx.get("session_webhook", ""))
        now_ms = int(self.clock.now().timestamp() * 1000)
        expires = int_or_none(ctx.get("session_expires_ms")) or 0
        usable = is_allowed_webhook(webhook, self.cfg.session_webhook_prefixes) and now_ms < expires - SESSION_MARGIN_MS
        return webhook if usable else ""

    async def tell_kept(self, msg: InboundMessage) -> None:
        """The database is away and `msg` waits in the spool: say so on its sessionWebhook, if still usable
        (the proactive APIs would need nothing of ours, but a reply there is what the person is looking at)."""
        webhook = self._usable_webhook(msg.reply_context)
        if webhook:
            await self._session_reply(webhook, {"text": texts.SPOOLED_NOTICE},
                                      str(msg.reply_context.get("staff_id", "")))

    async def _session_reply(self, url: str, body: dict[str, Any], staff_id: str) -> bool:
        """True when delivered; False when DingTalk refused the session (then the API is used)."""
        payload = robot_message(body)
        if staff_id:
            payload["at"] = {"atUserIds": [staff_id]}
        _, data = await self.http.call("sessionWebhook", "POST", url, json=payload, channel_wide=False,
                                       throttle_default=SESSION_THROTTLE_SECONDS)
        if data.get("errcode") == 0 or data.get("success") is True:
            return True
        log.info("sessionWebhook refused (%s %s); falling back to the API", data.get("errcode"), data.get("errmsg"))
        return False

    async def close(self) -> None:
        await self.http.close()
