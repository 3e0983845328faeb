"""Webhook events: which timeline step is which event, what a delivery carries, how it is signed."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.domain.appeal import OPEN_STATUSES, Action, Appeal, AppealEvent, Status
from bot.services.ports import UnitOfWork, WebhookSubscription

CHANNEL = "webhook"  # the outbox channel of deliveries; the recipient is "<subscription id>/<appeal number>"
SIGNATURE_HEADER = "X-Qihu-Signature"  # "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
TIMESTAMP_HEADER = "X-Qihu-Timestamp"  # Unix seconds when the delivery was sent
EVENT_HEADER = "X-Qihu-Event"
EVENT_ID_HEADER = "X-Qihu-Event-Id"

EVENTS = ("appeal.submitted", "appeal.assigned", "appeal.accepted", "appeal.returned", "appeal.transferred",
          "appeal.extended", "appeal.escalated", "appeal.progress", "appeal.closed", "appeal.rated",
          "appeal.review.verified", "appeal.rectified", "appeal.rejected", "appeal.withdrawn")

_BY_ACTION = {
    Action.SUBMIT: "appeal.submitted", Action.DISPATCH: "appeal.assigned", Action.ACCEPT: "appeal.accepted",
    Action.RETURN: "appeal.returned", Action.EXTEND: "appeal.extended", Action.ESCALATE: "appeal.escalated",
    Action.PROGRESS: "appeal.progress", Action.RESOLVE: "appeal.closed", Action.RATE_GOOD: "appeal.rated",
    Action.RATE_BAD: "appeal.rated", Action.RATING_EXPIRED: "appeal.rated",
    Action.VERIFY_VALID: "appeal.review.verified", Action.VERIFY_INVALID: "appeal.review.verified",
    Action.REJECT: "appeal.rejected", Action.MERGE: "appeal.rejected", Action.WITHDRAW: "appeal.withdrawn",
}
# Timeline data passed on as it is; anything else (who typed what in chat) stays inside.
_DATA_KEYS = ("lead", "co", "unit", "role", "due_at", "days", "stage", "outcome", "round", "level", "level_label",
              "solved", "rating", "into")


def event_type(event: AppealEvent) -> str | None:
    """The webhook event of a timeline step, or None for steps other systems are not told about
    (supplements, urging, retagging, call-back notes). A transfer is a return then an assignment:
    it is told once, as appeal.transferred; a resolution after a rectification is appeal.rectified."""
    if event.data.get("transfer"):
        return "appeal.transferred" if event.action == Action.DISPATCH else None
    if event.action == Action.RESOLVE and event.from_status == Status.RECTIFYING:
        return "appeal.rectified"
    return _BY_ACTION.get(event.action)


def open311_status(status: Status) -> str:
    """GeoReport v2 knows two states: open until the appeal is resolved, rejected or withdrawn."""
    return "open" if status in OPEN_STATUSES else "closed"


def payload(appeal: Appeal, event: AppealEvent, kind: str) -> dict[str, Any]:
    """The JSON body of one delivery; the same event id goes to every subscription."""
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": kind,
        "created_at": _utc(event.at),
        "appeal": {
            "number": appeal.number,
            "external_id": appeal.flags.get("external_id"),
            "entry_source": appeal.flags.get("entry_source"),
            "version": appeal.version,
            "status": appeal.status.value,
            "open311_status": open311_status(appeal.status),
            "lead_unit": appeal.lead_unit_id,
            "due_at": _utc(appeal.due_at) if appeal.due_at else None,
        },
        "event": {
            "action": event.action.value,
            "from_status": event.from_status.value if event.from_status else None,
            "to_status": event.to_status.value,
            "note": event.note,
            "actor": event.actor.name,
            "data": {k: event.data[k] for k in _DATA_KEYS if k in event.data},
        },
    }


def _utc(value: datetime) -> str:
    """UTC with a Z, as /api/v1 writes times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: receivers recompute it over the raw body they got."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def subscription(uow: Callable[[], UnitOfWork], recipient: str) -> WebhookSubscription | None:
    """The live subscription a delivery's recipient `<subscription id>/<appeal number>` names, read in
    a transaction of its own (the sender's, as it sends); None once it was deleted."""
    sub_id = recipient.split("/", 1)[0]
    if not sub_id.isdigit():
        return None
    async with uow() as unit:
        return await unit.api.subscription(int(sub_id))
