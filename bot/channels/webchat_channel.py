"""The built-in web chat: a static page plus a small JSON API over the same pipeline and outbox."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels.ports import ChannelHost
from bot.messages import ConversationKey, InboundMessage

CHANNEL = "web"
STATIC = Path(__file__).resolve().parent.parent / "static"
USER_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
MAX_TEXT = 4000


def portal_signature(secret: str, user: str, expires: int) -> str:
    """hex(HMAC-SHA256(secret, "<user>.<expires>")): what the hosting portal puts in `token`."""
    return hmac.new(secret.encode(), f"{user}.{expires}".encode(), hashlib.sha256).hexdigest()


def _json(data: Any, status: int = 200) -> web.Response:
    # Chinese stays readable in logs and browser tools instead of \uXXXX escapes.
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def _bad(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


def _is_loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


class WebChat:
    """Routes: GET / (page), GET /api/web/config, POST /api/web/messages, GET /api/web/messages."""

    def __init__(self, app: ChannelHost) -> None:
        self.app = app
        self.settings = app.settings.webchat

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.static("/static", STATIC),
            web.get("/api/web/config", self.config),
            web.post("/api/web/messages", self.post_message),
            web.get("/api/web/messages", self.get_messages),
        ]

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    def demo_allowed(self, request: web.Request) -> bool:
        return self.settings.demo_mode and _is_loopback(request)

    async def config(self, request: web.Request) -> web.Response:
        demo = self.demo_allowed(request)
        staff = [{"id": f"staff:{s.id}", "name": s.name, "role": s.role}
                 for s in self.app.settings.staff if s.demo] if demo else []
        return _json({"demo": demo, "staff": staff})

    def _authenticate(self, request: web.Request, user: Any, token: Any) -> str | web.Response:
        if not isinstance(user, str) or not USER_ID.match(user):
            return _bad(400, "缺少或无效的用户标识 user（1–64 位字母、数字或 _.:-）。")
        if self.demo_allowed(request):
            if user.startswith("staff:") and user[6:] not in {s.id for s in self.app.settings.staff if s.demo}:
                return _bad(403, "演示模式只能以演示人员身份登录。")
            return user
        secret = self.settings.portal_secret.get_secret_value()
        if not secret:
            return _bad(403, "网页聊天未开启：未配置门户签名密钥，且不是本机演示访问。")
        if not isinstance(token, str) or "." not in token:
            return _bad(401, "缺少身份令牌 token（格式：过期时间戳.签名）。")
        expires_raw, _, signature = token.partition(".")
        if not expires_raw.isdigit():
            return _bad(401, "身份令牌格式错误。")
        expires = int(expires_raw)
        now = int(self.app.runtime.now().timestamp())  # the Clock: tests freeze it like every other time
        if expires < now or expires > now + self.settings.token_max_age_seconds:
            return _bad(401, "身份令牌已过期或有效期过长，请从门户重新进入。")
        if not hmac.compare_digest(portal_signature(secret, user, expires), signature):
            return _bad(403, "身份令牌签名不正确。")
        return user

    async def _bind_demo_staff(self, user: str) -> None:
        if user.startswith("staff:"):
            async with self.app.runtime.uow() as uow:
                identity = await uow.directory.identity(ConversationKey(CHANNEL, user))
                if identity.staff is None:
                    await uow.directory.link_staff(ConversationKey(CHANNEL, user), user[6:])
                    await uow.commit()

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json(loads=json.loads)
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, or nesting deeper than the parser goes
            return _bad(400, "请求体不是有效的 JSON。")
        if not isinstance(payload, dict):
            return _bad(400, "请求体应为 JSON 对象。")
        user = self._authenticate(request, payload.get("user"), payload.get("token"))
        if isinstance(user, web.Response):
            return user
        text = payload.get("text", "")
        if not isinstance(text, str):
            return _bad(400, "text 应为字符串。")
        if len(text) > MAX_TEXT:
            return _bad(413, f"消息过长（{len(text)} 字），单条消息请不超过 {MAX_TEXT} 字。")
        if not text.strip():
            return _bad(400, "消息不能为空。")
        client_id = payload.get("client_msg_id") or uuid.uuid4().hex
        if not isinstance(client_id, str) or len(client_id) > 64:
            return _bad(400, "client_msg_id 应为不超过 64 位的字符串。")
        limited = self.app.rate_limit.refusal(CHANNEL, user)
        if limited is not None:
            return limited
        if self.demo_allowed(request):
            await self._bind_demo_staff(user)
        msg = InboundMessage(ConversationKey(CHANNEL, user), text, f"{user}:{client_id}",
                             self.app.runtime.now())
        outcome = await self.app.pipeline.handle_turn(msg)
        replies = [{"id": i, **m.body(), "appeal_number": m.appeal_number}
                   for i, m in outcome.replies_to(msg.key)] if outcome else []
        return _json({"duplicate": outcome is None, "replies": replies})

    async def get_messages(self, request: web.Request) -> web.Response:
        user = self._authenticate(request, request.query.get("user"), request.query.get("token"))
        if isinstance(user, web.Response):
            return user
        after_raw = request.query.get("after", "0")
        if not after_raw.isdigit():
            return _bad(400, "after 应为非负整数。")
        async with self.app.runtime.uow() as uow:
            rows = await uow.outbox.for_recipient(CHANNEL, user, int(after_raw), 100)
        return _json({"messages": [_message(r) for r in rows]})


def _message(row: Any) -> dict[str, Any]:
    return {"id": row.id, "text": row.body.get("text", ""), "choices": row.body.get("choices", []),
            "appeal_number": row.appeal_number}
