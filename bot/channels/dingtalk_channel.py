"""钉钉 / 浙政钉 robot channel: signed callback in, replies via sessionWebhook or the proactive APIs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot import texts
from bot.channels import jsonbody
from bot.channels.ports import ChannelHost
from bot.channels.ratelimit import refusal
from bot.config import DingTalkConfig
from bot.escaping import dingtalk_markdown, dtmd_content
from bot.messages import MAX_USER_ID, Attachment, Choice, ConversationKey, InboundMessage
from bot.pipeline import Guard, TurnRejected
from bot.services.delivery import DeliveryError
from bot.services.ports import Clock, UnitOfWork
from bot.services.replays import SignatureLedger
from bot.spool import LOST

log = logging.getLogger(__name__)

CALLBACK_PATH = "/channels/dingtalk/callback"
MAX_SKEW_MS = 3600 * 1000  # channels.md §1.1: DingTalk itself refuses a timestamp more than one hour off
TIMESTAMP = re.compile(r"^[0-9]{1,15}$")  # str.isdigit() also takes '²', and int() of 5000 digits raises
SESSION_MARGIN_MS = 60 * 1000  # do not start a webhook reply in the last minute of its life
AUTH_ERROR_CODES = ("InvalidAuthentication", "Forbidden.AccessDenied.AccessTokenInvalid")
BATCH_LIMIT = 20  # batchSend takes at most 20 userIds
TOKEN_MARGIN = timedelta(minutes=5)
ZZD_MSG_MAX_BYTES = 2048
BEIJING = ZoneInfo("Asia/Shanghai")


# ---- inbound: signature -------------------------------------------------------------------------

def callback_signature(app_secret: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(appSecret, timestamp + "\\n" + appSecret)), not URL-encoded (channels.md §1.1)."""
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_callback(headers: Any, app_secret: str, mode: str, now_ms: int,
                    max_skew_ms: int = MAX_SKEW_MS) -> tuple[int, str] | None:
    """None when the request may pass; otherwise (HTTP status, reason). `mode` is required|if_present|off."""
    if mode == "off":
        return None
    timestamp, sign = headers.get("timestamp"), headers.get("sign")
    if not timestamp and not sign:
        if mode == "if_present":
            log.warning("dingtalk callback without timestamp/sign headers accepted (signature = if_present)")
            return None
        return 401, "缺少 timestamp / sign 签名头。"
    if not timestamp or not sign:
        return 401, "签名头不完整：timestamp 与 sign 须同时提供。"
    if not TIMESTAMP.match(timestamp):
        return 400, "timestamp 应为毫秒时间戳（1–15 位阿拉伯数字）。"
    if abs(now_ms - int(timestamp)) > max_skew_ms:
        return 403, f"请求时间戳与服务器时间相差超过 {max_skew_ms // 1000} 秒（可能是重放）。"
    if not hmac.compare_digest(callback_signature(app_secret, timestamp).encode(), sign.encode()):
        return 403, "签名不正确。"
    return None


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


class ReplayGuard:
    """Refuses a (timestamp, sign) pair already used with another msgId: the sign covers only the
    timestamp, so a captured header pair would otherwise carry any body for the whole skew window.
    The check runs inside the turn's own transaction (bot.pipeline.Guard); the rule and the stored
    pairs are bot.services.replays'."""

    def __init__(self, channel: str, cfg: DingTalkConfig) -> None:
        self.ledger = SignatureLedger(channel)
        self.window = timedelta(seconds=cfg.max_clock_skew_seconds)
        self.checked = cfg.signature != "off"

    def guard(self, headers: Any, message_id: str, now: datetime) -> Guard | None:
        """The check for this request, or None when it carries no signature to remember."""
        timestamp, sign = headers.get("timestamp"), headers.get("sign")
        if not self.checked or not timestamp or not sign:
            return None  # signature = off / if_present without headers: nothing to remember (warned at start)
        keep_until = datetime.fromtimestamp(int(timestamp) / 1000, UTC) + self.window

        async def check(uow: UnitOfWork) -> None:
            if not await self.ledger.claim(uow, timestamp, sign, message_id, keep_until, now):
                raise TurnRejected(403, "该签名（timestamp + sign）已随另一条消息使用过，拒绝重放。")

        return check


# ---- inbound: payload ---------------------------------------------------------------------------

class PayloadError(ValueError):
    """The callback body is not a robot message we can attribute to a sender; `reason` says why, in Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ParsedMessage:
    message_id: str
    user_id: str
    kind: str
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    display_name: str = ""
    staff_id: str = ""
    conversation_type: str = "1"
    conversation_id: str = ""
    session_webhook: str = ""
    session_expires_ms: int = 0
    create_at_ms: int | None = None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _rich_text_items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Public DingTalk sends content.richText[]; the one known 浙政钉 client reads richText.richTextList[]."""
    content = payload.get("content")
    if isinstance(content, dict) and isinstance(content.get("richText"), list):
        return [i for i in content["richText"] if isinstance(i, dict)]
    rich = payload.get("richText")
    if isinstance(rich, dict) and isinstance(rich.get("richTextList"), list):
        return [i for i in rich["richTextList"] if isinstance(i, dict)]
    if isinstance(rich, list):
        return [i for i in rich if isinstance(i, dict)]
    return []


def parse_callback(payload: dict[str, Any]) -> ParsedMessage:
    """Tolerant parse of a robot callback body (channels.md §1.2, §1.3, §4.5); raises PayloadError."""
    message_id = _str(payload.get("msgId"))
    staff_id = _str(payload.get("senderStaffId"))
    user_id = staff_id or _str(payload.get("senderId"))
    if not message_id or not user_id:
        raise PayloadError("缺少 msgId 或发送人。")
    if len(user_id) > MAX_USER_ID:
        raise PayloadError(f"发送人标识超过 {MAX_USER_ID} 个字符。")
    kind = _str(payload.get("msgtype")) or "text"
    content = payload.get("content") if isinstance(payload.get("content"), dict) else {}
    msg = ParsedMessage(
        message_id=message_id, user_id=user_id, kind=kind, display_name=_str(payload.get("senderNick")),
        staff_id=staff_id, conversation_type=str(payload.get("conversationType") or "1"),
        conversation_id=_str(payload.get("conversationId")),
        session_webhook=_str(payload.get("sessionWebhook")),
        session_expires_ms=_int_or_none(payload.get("sessionWebhookExpiredTime")) or 0,
        create_at_ms=_int_or_none(payload.get("createAt")),
    )
    if kind == "text":
        text = payload.get("text")
        msg.text = _str(text.get("content")).strip() if isinstance(text, dict) else _str(text).strip()
    elif kind == "picture":
        code = _str(content.get("downloadCode")) or _str(content.get("pictureDownloadCode"))
        if code:
            msg.attachments.append(Attachment("picture", code))
    elif kind == "richText":
        parts = []
        for item in _rich_text_items(payload):
            if _str(item.get("text")):
                parts.append(item["text"])
            code = _str(item.get("downloadCode")) or _str(item.get("pictureDownloadCode"))
            if code and item.get("type", "picture") == "picture":
                msg.attachments.append(Attachment("picture", code))
        msg.text = "\n".join(p.strip() for p in parts if p.strip())
    elif kind == "audio":
        # The speech-to-text result counts as what the person said.
        msg.text = _str(content.get("recognition")).strip()
    elif kind in ("file", "video"):
        code = _str(content.get("downloadCode"))
        if code:
            msg.attachments.append(Attachment(kind, code, _str(content.get("fileName"))))
    return msg


def is_allowed_webhook(url: str, prefixes: list[str]) -> bool:
    """sessionWebhook comes from the request body: never POST to a URL outside the configured hosts."""
    return bool(url) and any(url.startswith(p) for p in prefixes)


# ---- outbound: rendering ------------------------------------------------------------------------

def dtmd_link(value: str) -> str:
    """Tapping it makes the DingTalk client send `value` back as a text message (channels.md §2.4 A)."""
    return "dtmd://dingtalkclient/sendMessage?content=" + dtmd_content(value)


def render_markdown(text: str, choices: list[Choice], link: dict[str, str] | None = None) -> tuple[str, str]:
    """(title, markdown): the text, a file's download link, then every choice as a numbered one-tap link.

    The text is plain (it carries what people wrote): escaped whole, so only our links are markup.
    """
    title = (text.strip().splitlines() or ["企呼"])[0][:40]
    lines = [dingtalk_markdown(line) if line.strip() else "" for line in text.splitlines()]
    body = "  \n".join(lines)  # DingTalk markdown needs two trailing spaces for a line break
    if link:
        body += f"\n\n📎 [{dingtalk_markdown(str(link.get('name', '')))}]({link.get('url', '')})"
    if not choices:
        return title, body
    options = [f"{i}. [{dingtalk_markdown(c.label)}]({dtmd_link(c.value)})" for i, c in enumerate(choices, start=1)]
    return title, body + "\n\n" + "  \n".join(options) + "  \n" + texts.CHOICES_HINT


def choices_of(body: dict[str, Any]) -> list[Choice]:
    return [Choice(str(c.get("label", "")), str(c.get("value", ""))) for c in body.get("choices", [])]


# ---- outbound: 浙政钉 gateway signing ------------------------------------------------------------

def zzd_param_string(params: list[tuple[str, str]]) -> str:
    """k=v pairs sorted case-insensitively by key, raw values, repeated keys sorted by value (§4.2)."""
    kept = sorted(((k, v) for k, v in params if k and v), key=lambda kv: (kv[0].lower(), kv[0], kv[1]))
    return "&".join(f"{k}={v}" for k, v in kept)


def zzd_signature(secret: str, method: str, timestamp: str, nonce: str, path: str,
                  params: list[tuple[str, str]]) -> str:
    lines = [method.upper(), timestamp, nonce, path]
    query = zzd_param_string(params)
    if query:
        lines.append(query)
    digest = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# ---- outbound: the APIs -------------------------------------------------------------------------

class _Http:
    """One lazily created aiohttp session (it must be made inside the running loop)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _retry_after(resp: aiohttp.ClientResponse, default: float) -> float:
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else default


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await resp.json(content_type=None)
    except (json.JSONDecodeError, aiohttp.ContentTypeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


class _AuthExpired(Exception):
    """The API refused our token: fetch a new one and try once more."""


class _TokenCache:
    """One access token, fetched under a lock and reused until TOKEN_MARGIN before it expires."""

    def __init__(self, clock: Clock, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> None:
        self.clock = clock
        self.fetch = fetch  # returns (token, lifetime in seconds)
        self._token: str | None = None
        self._until = clock.now()
        self._lock = asyncio.Lock()

    async def get(self, *, force: bool = False) -> str:
        async with self._lock:
            if force or not self._token or self.clock.now() >= self._until:
                self._token, lifetime = await self.fetch()
                self._until = self.clock.now() + timedelta(seconds=lifetime) - TOKEN_MARGIN
            return self._token


class DingTalkApi:
    """Public DingTalk OpenAPI: oauth2 token (cached), robot 1:1 batch send and group send (§2)."""

    def __init__(self, cfg: DingTalkConfig, clock: Clock, http: _Http) -> None:
        self.cfg = cfg
        self.clock = clock
        self.http = http
        self._tokens = _TokenCache(clock, self._fetch_token)
        self.robot_code = cfg.robot_code or cfg.app_key

    async def token(self, *, force: bool = False) -> str:
        return await self._tokens.get(force=force)

    async def _fetch_token(self) -> tuple[str, float]:
        url = f"{self.cfg.base_url}/v1.0/oauth2/accessToken"
        body = {"appKey": self.cfg.app_key, "appSecret": self.cfg.app_secret.get_secret_value()}
        try:
            async with self.http.session.post(url, json=body) as resp:
                data = await _json(resp)
                if resp.status != 200 or not isinstance(data.get("accessToken"), str):
                    raise DeliveryError(f"dingtalk token: HTTP {resp.status} {data.get('code', '')}")
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"dingtalk token: {exc!r}") from exc
        return data["accessToken"], float(data.get("expireIn") or 7200)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.token(force=attempt == 2)
            try:
                return await self._post_once(path, body, token)
            except _AuthExpired:
                if attempt == 2:
                    raise DeliveryError("dingtalk: token refused twice") from None
        raise AssertionError("unreachable")

    async def _post_once(self, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        url = f"{self.cfg.base_url}{path}"
        try:
            async with self.http.session.post(url, json=body, headers={"x-acs-dingtalk-access-token": token}) as resp:
                data = await _json(resp)
                if resp.status == 200:
                    return data
                code = str(data.get("code", ""))
                if resp.status == 429 or "throttl" in code.lower() or "flowcontrol" in code.lower():
                    raise DeliveryError(f"dingtalk {path}: HTTP {resp.status} {code}", channel_wide=True,
                                        retry_after=_retry_after(resp, self.cfg.flow_control_seconds))
                if resp.status in (401, 403) or code in AUTH_ERROR_CODES:
                    raise _AuthExpired
                if 400 <= resp.status < 500:
                    raise DeliveryError(f"dingtalk {path}: HTTP {resp.status} {code} {data.get('message', '')}",
                                        permanent=True)
                raise DeliveryError(f"dingtalk {path}: HTTP {resp.status}")
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"dingtalk {path}: {exc!r}") from exc
        except TimeoutError as exc:
            raise DeliveryError(f"dingtalk {path}: timeout") from exc

    async def batch_send(self, user_ids: list[str], msg_key: str, msg_param: dict[str, Any]) -> dict[str, list[str]]:
        """1:1 messages, at most 20 users a call; returns the merged invalid / flow-controlled lists."""
        merged: dict[str, list[str]] = {"invalidStaffIdList": [], "flowControlledStaffIdList": []}
        param = json.dumps(msg_param, ensure_ascii=False)  # msgParam is a JSON *string*
        for start in range(0, len(user_ids), BATCH_LIMIT):
            chunk = user_ids[start:start + BATCH_LIMIT]
            data = await self._post("/v1.0/robot/oToMessages/batchSend", {
                "robotCode": self.robot_code, "userIds": chunk, "msgKey": msg_key, "msgParam": param})
            for name in merged:
                merged[name] += [u for u in data.get(name) or [] if isinstance(u, str)]
        return merged

    async def group_send(self, open_conversation_id: str, msg_key: str, msg_param: dict[str, Any]) -> None:
        await self._post("/v1.0/robot/groupMessages/send", {
            "robotCode": self.robot_code, "openConversationId": open_conversation_id, "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False)})

    async def send(self, recipient: str, body: dict[str, Any], outbox_id: int) -> None:
        text, choices = str(body.get("text", "")), choices_of(body)
        if choices or body.get("link"):
            title, md = render_markdown(text, choices, body.get("link"))
            key, param = "sampleMarkdown", {"title": title, "text": md}
        else:
            key, param = "sampleText", {"content": text}
        if recipient.startswith("group:"):
            await self.group_send(recipient[6:], key, param)
            return
        if recipient.startswith("$:"):
            raise DeliveryError("dingtalk: no staffId for this sender, proactive send impossible", permanent=True)
        result = await self.batch_send([recipient], key, param)
        if recipient in result["invalidStaffIdList"]:
            raise DeliveryError(f"dingtalk: invalid staffId {recipient}", permanent=True)
        if recipient in result["flowControlledStaffIdList"]:
            raise DeliveryError(f"dingtalk: {recipient} flow-controlled", retry_after=self.cfg.flow_control_seconds)


class ZzdApi:
    """浙政钉 (专有钉钉) gateway: X-Hmac-Auth signing, /gettoken.json, /message/workNotification (§4)."""

    def __init__(self, cfg: DingTalkConfig, clock: Clock, http: _Http) -> None:
        self.cfg = cfg
        self.clock = clock
        self.http = http
        self._tokens = _TokenCache(clock, self._fetch_token)

    def headers(self, method: str, path: str, params: list[tuple[str, str]]) -> dict[str, str]:
        now = self.clock.now().astimezone(BEIJING)
        timestamp = now.isoformat(timespec="milliseconds")
        nonce = f"{int(now.timestamp() * 1000)}{secrets.randbelow(10000):04d}"
        secret = self.cfg.app_secret.get_secret_value()
        return {
            "apiKey": self.cfg.app_key, "X-Hmac-Auth-Timestamp": timestamp, "X-Hmac-Auth-Version": "1.0",
            "X-Hmac-Auth-Nonce": nonce, "X-Hmac-Auth-IP": "127.0.0.1", "X-Hmac-Auth-MAC": "00:00:00:00:00:00",
            "X-Hmac-Auth-Signature": zzd_signature(secret, method, timestamp, nonce, path, params),
        }

    async def _call(self, method: str, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        params = [(k, v) for k, v in params if k and v]  # empty ones leave the request and the signature
        headers = self.headers(method, path, params)
        url = f"{self.cfg.base_url}{path}"
        try:
            if method == "GET":
                ctx = self.http.session.get(url, params=params, headers=headers)
            else:
                ctx = self.http.session.post(url, data=params, headers=headers)
            async with ctx as resp:
                data = await _json(resp)
                if resp.status == 429:
                    raise DeliveryError(f"zzd {path}: HTTP 429", channel_wide=True,
                                        retry_after=_retry_after(resp, self.cfg.flow_control_seconds))
                if resp.status >= 500:
                    raise DeliveryError(f"zzd {path}: HTTP {resp.status}")
                return data
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"zzd {path}: {exc!r}") from exc
        except TimeoutError as exc:
            raise DeliveryError(f"zzd {path}: timeout") from exc

    async def token(self, *, force: bool = False) -> str:
        return await self._tokens.get(force=force)

    async def _fetch_token(self) -> tuple[str, float]:
        data = await self._call("GET", "/gettoken.json", [
            ("appkey", self.cfg.app_key), ("appsecret", self.cfg.app_secret.get_secret_value())])
        inner = (data.get("content") or {}).get("data") if isinstance(data.get("content"), dict) else None
        if not data.get("success") or not isinstance(inner, dict) or not inner.get("accessToken"):
            raise DeliveryError(f"zzd token: {_zzd_error(data)}")
        return str(inner["accessToken"]), _int_or_none(inner.get("expiresIn")) or 7200  # gateway sends a string

    async def send(self, recipient: str, body: dict[str, Any], outbox_id: int) -> None:
        text, choices = str(body.get("text", "")), choices_of(body)
        if choices or body.get("link"):
            title, md = render_markdown(text, choices, body.get("link"))
            msg: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": md}}
        else:
            msg = {"msgtype": "text", "text": {"content": text}}
        encoded = _fit(msg, ZZD_MSG_MAX_BYTES)
        for attempt in (1, 2):
            token = await self.token(force=attempt == 2)
            data = await self._call("POST", "/message/workNotification", [
                ("tenantId", self.cfg.tenant_id), ("receiverIds", recipient),
                # Stable per outbox row: the gateway refuses a repeat, so a retried send is never shown twice.
                ("bizMsgId", f"qihu-{outbox_id}"), ("msg", encoded), ("access_token", token)])
            content = data.get("content") if isinstance(data.get("content"), dict) else {}
            if data.get("success") and content.get("success", True):
                return
            error = _zzd_error(data)
            if "重复" in error or "duplicate" in error.lower():
                log.info("zzd outbox %s already delivered (bizMsgId repeat)", outbox_id)
                return
            if "token" in error.lower() and attempt == 1:
                continue
            raise DeliveryError(f"zzd workNotification: {error}")


def _zzd_error(data: dict[str, Any]) -> str:
    content = data.get("content") if isinstance(data.get("content"), dict) else {}
    parts = [str(data.get(k, "")) for k in ("Code", "Message", "bizErrorCode", "errorMsg", "errorCode")]
    parts += [str(content.get(k, "")) for k in ("responseCode", "responseMessage")]
    return " ".join(p for p in parts if p) or json.dumps(data, ensure_ascii=False)[:200]


def _fit(msg: dict[str, Any], limit: int) -> str:
    """JSON of `msg` within `limit` bytes: the text is shortened, never the structure broken."""
    encoded = json.dumps(msg, ensure_ascii=False)
    inner = msg.get("markdown") or msg.get("text") or {}
    field_name = "text" if "markdown" in msg else "content"
    while len(encoded.encode()) > limit and inner.get(field_name):
        inner[field_name] = inner[field_name][: max(0, len(inner[field_name]) - 50)] + "…"
        encoded = json.dumps(msg, ensure_ascii=False)
    return encoded


class DingTalkSender:
    """ChannelSender: the sessionWebhook while it is valid (and on an allowed host), else the dialect's API."""

    def __init__(self, cfg: DingTalkConfig, clock: Clock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.http = _Http(cfg.http_timeout_seconds)
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
        expires = _int_or_none(ctx.get("session_expires_ms")) or 0
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
        text, choices = str(body.get("text", "")), choices_of(body)
        if choices or body.get("link"):
            title, md = render_markdown(text, choices, body.get("link"))
            payload: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": md}}
        else:
            payload = {"msgtype": "text", "text": {"content": text}}
        if staff_id:
            payload["at"] = {"atUserIds": [staff_id]}
        try:
            async with self.http.session.post(url, json=payload) as resp:
                data = await _json(resp)
                if resp.status == 429:
                    raise DeliveryError("sessionWebhook: HTTP 429", retry_after=_retry_after(resp, 60.0))
                if resp.status >= 500:
                    raise DeliveryError(f"sessionWebhook: HTTP {resp.status}")
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"sessionWebhook: {exc!r}") from exc
        except TimeoutError as exc:
            raise DeliveryError("sessionWebhook: timeout") from exc
        if data.get("errcode") == 0 or data.get("success") is True:
            return True
        log.info("sessionWebhook refused (%s %s); falling back to the API", data.get("errcode"), data.get("errmsg"))
        return False

    async def close(self) -> None:
        await self.http.close()


# ---- the callback route ---------------------------------------------------------------------------

class DingTalkChannel:
    """POST /channels/dingtalk/callback → verify → parse → pipeline; answered within `ack_seconds`."""

    def __init__(self, app: ChannelHost, cfg: DingTalkConfig) -> None:
        self.app = app
        self.cfg = cfg
        self.name = cfg.channel
        self.sender = DingTalkSender(cfg, app.clock)
        self.replays = ReplayGuard(self.name, cfg)
        self._tasks: set[asyncio.Task] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.post(CALLBACK_PATH, self.callback)]

    async def callback(self, request: web.Request) -> web.Response:
        now = self.app.clock.now()
        refused = self.source_refusal(request) or verify_callback(
            request.headers, self.cfg.app_secret.get_secret_value(), self.cfg.signature,
            int(now.timestamp() * 1000), self.cfg.max_clock_skew_seconds * 1000)
        if refused is not None:
            log.warning("dingtalk callback refused from %s: %s", request.remote, refused[1])
            return web.json_response({"error": refused[1]}, status=refused[0])
        try:
            payload = jsonbody.loads(await request.read())
        except jsonbody.BodyError as exc:
            return web.json_response({"error": exc.reason}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "请求体应为 JSON 对象。"}, status=400)
        try:
            parsed = parse_callback(payload)
        except PayloadError as exc:
            return web.json_response({"error": exc.reason}, status=400)
        limited = refusal(self.app.pipeline.retry_after(self.name, parsed.user_id))
        if limited is not None:
            return limited
        msg = self.inbound(parsed, now)
        guard = self.replays.guard(request.headers, parsed.message_id, now)
        task = asyncio.create_task(self._handle(msg, parsed, guard))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # DingTalk re-sends a message it thinks was not taken (~60 s) but never one answered 200: answer
        # fast, and only once the turn is stored or in the spool (a still-running turn is kept there too;
        # replayed after it was stored, it is a duplicate and ignored).
        done, _ = await asyncio.wait({task}, timeout=self.cfg.ack_seconds)
        outcome = task.result() if done else None
        if isinstance(outcome, TurnRejected):  # a replayed signature: nothing stored
            return web.json_response({"error": outcome.reason}, status=outcome.status)
        if not (outcome != LOST if done else self.app.spool.keep(msg)):
            return web.json_response({"error": "消息暂时无法保存，请稍后重发。"}, status=503)
        return web.Response(body=b"{}", content_type="application/json")

    def source_refusal(self, request: web.Request) -> tuple[int, str] | None:
        if not self.cfg.source_allowlist:
            return None
        address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                                 self.cfg.trusted_proxies)
        if address is not None and any(address in net for net in self.cfg.source_allowlist):
            return None
        return 403, f"来源地址 {address or '无法识别'} 不在 channels.dingtalk.source_allowlist 中。"

    def inbound(self, parsed: ParsedMessage, now: Any) -> InboundMessage:
        ctx: dict[str, Any] = {"conversation_type": parsed.conversation_type}
        if parsed.staff_id:
            ctx["staff_id"] = parsed.staff_id
        if is_allowed_webhook(parsed.session_webhook, self.cfg.session_webhook_prefixes):
            ctx["session_webhook"] = parsed.session_webhook
            ctx["session_expires_ms"] = parsed.session_expires_ms
        elif parsed.session_webhook:
            log.warning("sessionWebhook on a host not in session_webhook_prefixes ignored")
        return InboundMessage(ConversationKey(self.name, parsed.user_id), parsed.text, parsed.message_id, now,
                              parsed.display_name, tuple(parsed.attachments), ctx)

    async def _handle(self, msg: InboundMessage, parsed: ParsedMessage, guard: Guard | None) -> str | TurnRejected:
        """STORED, SPOOLED (the database is away; the person is told), LOST (not even the spool took it), or
        the TurnRejected of a replayed signature (nothing stored, not spooled)."""
        rejected: list[TurnRejected] = []

        async def run() -> None:
            try:
                if not msg.text and not msg.attachments:
                    await self.app.pipeline.unsupported(msg, parsed.kind, guard)
                else:
                    await self.app.pipeline.handle(msg, guard)
            except TurnRejected as exc:
                log.warning("dingtalk callback refused: %s (msgId %s)", exc.reason, msg.message_id[:64])
                rejected.append(exc)

        outcome = await self.app.spool.take(msg, run, self.sender.tell_kept)
        return rejected[0] if rejected else outcome

    async def drain(self) -> None:
        """Wait for turns still running after their callback was answered (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.drain()
        await self.sender.close()
