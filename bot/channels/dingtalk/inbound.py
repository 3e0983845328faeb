"""A robot message body (HTTP callback or Stream frame, same JSON) → ParsedMessage → InboundMessage."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.messages import MAX_USER_ID, Attachment, ConversationKey, InboundMessage

log = logging.getLogger(__name__)


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


def int_or_none(value: Any) -> int | None:
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
        session_expires_ms=int_or_none(payload.get("sessionWebhookExpiredTime")) or 0,
        create_at_ms=int_or_none(payload.get("createAt")),
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


def to_inbound(parsed: ParsedMessage, channel: str, webhook_prefixes: list[str], now: datetime) -> InboundMessage:
    """The channel-neutral message; the reply context keeps what the sender needs to answer on the session."""
    ctx: dict[str, Any] = {"conversation_type": parsed.conversation_type}
    if parsed.staff_id:
        ctx["staff_id"] = parsed.staff_id
    if is_allowed_webhook(parsed.session_webhook, webhook_prefixes):
        ctx["session_webhook"] = parsed.session_webhook
        ctx["session_expires_ms"] = parsed.session_expires_ms
    elif parsed.session_webhook:
        log.warning("sessionWebhook on a host not in session_webhook_prefixes ignored")
    return InboundMessage(ConversationKey(channel, parsed.user_id), parsed.text, parsed.message_id, now,
                          parsed.display_name, tuple(parsed.attachments), ctx)
