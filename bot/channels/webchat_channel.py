"""The built-in web chat: a static page plus a small JSON API over the same pipeline and outbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels import jsonbody
from bot.channels.ports import ChannelHost
from bot.channels.ratelimit import refusal
from bot.domain.errors import DomainError
from bot.domain.identifiers import normalize_uscc
from bot.messages import ConversationKey, InboundMessage, Vouched
from bot.pipeline import TurnRejected
from bot.texts import INPUT_PLACEHOLDER

CHANNEL = "web"  # one of bot.messages.MAILBOX_CHANNELS: the page fetches its messages, storing one delivers it
STATIC = Path(__file__).resolve().parent.parent / "static"
USER_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")  # fullmatch: "$" would let a final "\n" through
MAX_TEXT = 4000
ASCII_INT = re.compile(r"^[0-9]{1,15}$")  # str.isdigit() also takes '²' and '٣', which int() refuses or misreads
HEX_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
# A proxy in front of us says so with one of these; a request carrying any is not "straight from loopback".
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
                 "X-Forwarded-Server", "X-Real-IP", "Via")  # Via: what Squid, Apache, Varnish and CDNs add
STAFF_PREFIX = "staff:"


def portal_signature(secret: str, user: str, expires: int, uscc: str = "", name_b64: str = "") -> str:
    """hex(HMAC-SHA256(secret, "<user>.<expires>")), or over "<user>.<expires>.<uscc>.<name_b64>" when
    the portal vouches for the company its 法人 login authenticated: what the portal puts in `token`."""
    payload = f"{user}.{expires}" + (f".{uscc}.{name_b64}" if uscc else "")
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def encode_name(name: str) -> str:
    """The company name as it goes into a token: base64url of its UTF-8, without padding."""
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def portal_token(secret: str, user: str, expires: int, uscc: str = "", name: str = "") -> str:
    """`<expires>.<signature>`, or `<expires>.<uscc>.<name_b64>.<signature>` with the company claims."""
    if not uscc:
        return f"{expires}.{portal_signature(secret, user, expires)}"
    name_b64 = encode_name(name)
    return f"{expires}.{uscc}.{name_b64}.{portal_signature(secret, user, expires, uscc, name_b64)}"


def _decode_name(name_b64: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(name_b64 + "=" * (-len(name_b64) % 4)).decode().strip()
    except (ValueError, UnicodeDecodeError):
        return None


def _json(data: Any, status: int = 200) -> web.Response:
    # Chinese stays readable in logs and browser tools instead of \uXXXX escapes.
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def _bad(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


def _is_loopback_address(value: str) -> bool:
    if value == "localhost":
        return True
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """The name part of a Host header: `[::1]:8080` → `::1`, `127.0.0.1:8080` → `127.0.0.1`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_direct_loopback(request: web.Request) -> bool:
    """A request from a browser on this machine, not one relayed by a reverse proxy on this machine:
    the peer is loopback, no proxy header is present (any X-Forwarded-* counts) and Host names loopback."""
    if not _is_loopback_address(request.remote or ""):
        return False
    if any(name in request.headers for name in PROXY_HEADERS) or any(
            name.lower().startswith("x-forwarded-") for name in request.headers):
        return False
    return _is_loopback_address(_host_name(request.headers.get("Host", "")).lower())


def security_headers(frame_ancestors: list[str]) -> dict[str, str]:
    """Sent with every response: the page runs only its own script and style files (no inline code),
    talks only to this server, and may be framed only by the configured portals."""
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
           f"frame-ancestors {' '.join(frame_ancestors) or chr(39) + 'none' + chr(39)}")
    # no-referrer: the page's URL carries the portal token, which must not travel to another site.
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def parse_after(raw: str) -> int | None:
    """The `after` cursor: ASCII digits that fit an outbox id, else None."""
    return int(raw) if ASCII_INT.match(raw) else None


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
        return self.settings.demo_mode and is_direct_loopback(request)

    async def config(self, request: web.Request) -> web.Response:
        demo = self.demo_allowed(request)
        units = {u.id: u.name for u in self.app.settings.units}
        # The picker shows who the demo person is and where they work: 陈晓（县企业综合服务中心）.
        staff = [{"id": demo_staff_key(s.id).user_id, "name": f"{s.name}（{units.get(s.unit, '')}）", "role": s.role}
                 for s in self.app.settings.staff if s.demo] if demo else []
        return _json({"demo": demo, "staff": staff, "placeholders": INPUT_PLACEHOLDER})

    def _authenticate(self, request: web.Request, user: Any, token: Any) -> str | web.Response:
        if not isinstance(user, str) or not USER_ID.fullmatch(user):
            return _bad(400, "缺少或无效的用户标识 user（1–64 位字母、数字或 _.:-）。")
        if self.demo_allowed(request):
            if user.startswith(STAFF_PREFIX) and user[6:] not in {s.id for s in self.app.settings.staff if s.demo}:
                return _bad(403, "演示模式只能以演示人员身份登录。")
            return user
        secret = self.settings.portal_secret.get_secret_value()
        if not secret:
            return _bad(403, "网页聊天未开启：未配置门户签名密钥，且不是本机直接访问的演示模式。")
        if user.startswith(STAFF_PREFIX):
            # These identities are the demo picker's; a staff link made there must never follow a portal user.
            return _bad(403, "staff: 开头的用户标识只用于本机演示，门户身份不能使用。")
        if not isinstance(token, str) or "." not in token:
            return _bad(401, "缺少身份令牌 token（格式：过期时间戳.签名）。")
        parts = token.split(".")
        if len(parts) not in (2, 4):
            return _bad(400, "身份令牌格式错误（应为 过期时间戳.签名，或 过期时间戳.信用代码.企业名称.签名）。")
        expires_raw, signature = parts[0], parts[-1]
        claims = parts[1:3] if len(parts) == 4 else ["", ""]
        if not ASCII_INT.match(expires_raw):
            return _bad(400, "身份令牌格式错误：过期时间应为不超过 15 位的阿拉伯数字。")
        if not HEX_SIGNATURE.match(signature):
            return _bad(400, "身份令牌格式错误：签名应为 64 位小写十六进制。")
        expires = int(expires_raw)
        now = int(self.app.clock.now().timestamp())  # the Clock: tests freeze it like every other time
        if expires < now or expires > now + self.settings.token_max_age_seconds:
            return _bad(401, "身份令牌已过期或有效期过长，请从门户重新进入。")
        if not hmac.compare_digest(portal_signature(secret, user, expires, *claims), signature):
            return _bad(403, "身份令牌签名不正确。")
        return user

    def _vouched(self, request: web.Request, user: str, token: Any) -> Vouched | web.Response | None:
        """Who the sign-in vouches the sender is (the pipeline records it in the turn): a demo staff
        identity picked on this machine, or (a) the company a signed portal token carries (checked by
        _authenticate first), whose person becomes its verified member."""
        if self.demo_allowed(request):
            return Vouched(staff_id=user.removeprefix(STAFF_PREFIX)) if user.startswith(STAFF_PREFIX) else None
        if not isinstance(token, str) or token.count(".") != 3:
            return None
        _, uscc, name_b64, _ = token.split(".")
        name = _decode_name(name_b64)
        if not uscc or name is None or not 2 <= len(name) <= 100:
            return _bad(400, "身份令牌中的企业名称无效（应为 2–100 字，UTF-8 再经 base64url 编码）。")
        try:
            normalize_uscc(uscc)
        except DomainError:
            return _bad(400, "身份令牌中的统一社会信用代码无效。")
        return Vouched(uscc=uscc, company=name)

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            payload = jsonbody.loads(await request.read())
        except jsonbody.BodyError as exc:
            return _bad(400, exc.reason)
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
        limited = refusal(self.app.pipeline.retry_after(CHANNEL, user))
        if limited is not None:
            return limited
        vouched = self._vouched(request, user, payload.get("token"))
        if isinstance(vouched, web.Response):
            return vouched
        msg = InboundMessage(ConversationKey(CHANNEL, user), text, f"{user}:{client_id}",
                             self.app.clock.now(), vouched=vouched)
        try:
            outcome = await self.app.pipeline.handle_turn(msg)
        except TurnRejected as exc:  # the pipeline's own check of every message (the body's came first)
            return _bad(exc.status, exc.reason)
        replies = [{"id": i, **m.body(), "appeal_number": m.appeal_number}
                   for i, m in outcome.replies_to(msg.key)] if outcome else []
        return _json({"duplicate": outcome is None, "replies": replies})

    async def get_messages(self, request: web.Request) -> web.Response:
        user = self._authenticate(request, request.query.get("user"), request.query.get("token"))
        if isinstance(user, web.Response):
            return user
        after = parse_after(request.query.get("after", "0"))
        if after is None:
            return _bad(400, "after 应为不超过 15 位的非负整数（阿拉伯数字）。")
        rows = await self.app.pipeline.mailbox(ConversationKey(CHANNEL, user), after, 100)
        return _json({"messages": [_message(r) for r in rows]})


def demo_staff_key(staff_id: str) -> ConversationKey:
    """The page identity of a demo staff member (the picker's `staff:<id>`)."""
    return ConversationKey(CHANNEL, STAFF_PREFIX + staff_id)


def _message(row: Any) -> dict[str, Any]:
    return {"id": row.id, "text": row.body.get("text", ""), "choices": row.body.get("choices", []),
            "link": row.body.get("link"), "appeal_number": row.appeal_number}
