"""Channel-neutral message vocabulary shared by channels, the pipeline and the dialogue."""

from __future__ import annotations

import re
from dataclasses import asdict, astuple, dataclass, field
from datetime import datetime
from typing import Any

MAX_USER_ID = 128  # characters of a person's id on a channel: the database keeps no more
# Channels whose people fetch their messages from the outbox themselves (the web chat page polls for
# them): a message to one is delivered by being stored, so its row is stored sent and no sender ever
# takes it. The one place this is decided; storage, the outbox sender and the pipeline ask the message.
MAILBOX_CHANNELS = frozenset({"web"})
# A notice for a staff member who cannot be reached on any enabled channel yet (never bound, never looked
# up) is stored under this channel with their staff id as recipient: no sender takes it, and it is
# sent to their identity the moment they bind or are found (bot.services.reach.release_held).
HELD_CHANNEL = "staff"
# NUL: PostgreSQL cannot store it in text. A lone surrogate (JSON "\ud800", or stdin's undecodable
# bytes): UTF-8 cannot encode it, so neither database nor the spool file can take it. No person types either.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any) -> bool:
    """True when any string in `value` (nested lists, tuples and dicts, keys included) holds NUL or a
    lone surrogate: the one check every way in uses, so both databases refuse the same input."""
    stack = [value]  # iterative: a parser already allowed this depth, a recursive walk might not
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


@dataclass(frozen=True)
class ConversationKey:
    """One person on one channel: the unit the dialogue state and its lock belong to."""

    channel: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class Attachment:
    kind: str  # picture, file, audio, video
    ref: str  # channel file reference (download code, file id)
    name: str = ""


@dataclass(frozen=True)
class Vouched:
    """Who a channel's own sign-in says the sender is, recorded in the turn's transaction before the
    turn reads the sender's identity: a demo staff member picked on this machine (`staff_id`), or the
    company a portal's 法人 login authenticated (`uscc`, `company`)."""

    staff_id: str = ""
    uscc: str = ""
    company: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """What a person sent, already parsed and verified by its channel."""

    key: ConversationKey
    text: str
    message_id: str
    received_at: datetime | None = None
    display_name: str = ""
    attachments: tuple[Attachment, ...] = ()
    reply_context: dict[str, Any] = field(default_factory=dict)  # e.g. DingTalk sessionWebhook
    vouched: Vouched | None = None

    def unstorable(self) -> bool:
        """Some field holds what no database can store (see `unstorable`): the pipeline refuses it."""
        return unstorable((self.key.channel, self.key.user_id, self.text, self.message_id, self.display_name,
                           [astuple(a) for a in self.attachments], self.reply_context,
                           astuple(self.vouched) if self.vouched else ()))


@dataclass(frozen=True)
class Choice:
    """One option offered to a person; `value` is what choosing it sends back as text."""

    label: str
    value: str


@dataclass
class OutboundMessage:
    """Something to say to one person; channels render choices as buttons or numbered lines."""

    recipient: ConversationKey
    text: str
    choices: list[Choice] = field(default_factory=list)
    appeal_number: str | None = None
    reply_context: dict[str, Any] = field(default_factory=dict)
    link: dict[str, str] | None = None  # a file to fetch: {"url", "name"}; channels attach or link it

    @property
    def delivered_on_store(self) -> bool:
        """True for a mailbox channel's message (MAILBOX_CHANNELS): storing it is delivering it."""
        return self.recipient.channel in MAILBOX_CHANNELS

    def body(self) -> dict[str, Any]:
        body = {"text": self.text, "choices": [asdict(c) for c in self.choices]}
        return body | {"link": self.link} if self.link else body


def render_numbered(text: str, choices: list[Choice]) -> str:
    """Plain-text rendering for channels without buttons: numbered options that accept the number."""
    if not choices:
        return text
    lines = [text, ""] + [f"{i}. {c.label}" for i, c in enumerate(choices, start=1)]
    lines.append("（回复序号即可选择）")
    return "\n".join(lines)
