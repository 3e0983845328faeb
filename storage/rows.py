"""The conversation and outbox rows as values: the one mapping between them and the service types."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.messages import ConversationKey, OutboundMessage
from bot.services.ports import ConversationState, Identity, Staff
from storage import tables as t

# Every statement's column list is read from the tables: a column added there (and given a value
# below) reaches the statements of both databases without another edit.
CONVERSATION_KEY = tuple(c.name for c in t.conversations.primary_key)
CONVERSATION_STATE = tuple(c.name for c in t.conversations.c if not c.primary_key)
INBOUND_COLUMNS = tuple(c.name for c in t.inbound_messages.c)
STAFF_COLUMNS = {"staff_id": t.staff.c.id, "staff_name": t.staff.c.name, "unit_id": t.staff.c.unit_id,
                 "role": t.staff.c.role, "mobile": t.staff.c.mobile}  # as a turn reads them, by label


def conversation_row(key: ConversationKey, state: ConversationState, now: datetime) -> dict[str, Any]:
    """The conversation's row once `state` is saved (its version one up)."""
    return {"channel": key.channel, "user_id": key.user_id, "step": state.step,
            "data": {"draft": state.data, "history": state.history, "choices": state.choices},
            "version": state.version + 1, "updated_at": state.updated_at or now}


def new_conversation_row(key: ConversationKey, now: datetime) -> dict[str, Any]:
    """The row of a conversation nobody has saved yet: version 0 reads as a fresh state."""
    return conversation_row(key, ConversationState(), now) | {"version": 0}


def state_from(row: Any) -> ConversationState:
    """The state of a conversation row (its CONVERSATION_STATE columns); a fresh one for no row."""
    if row is None or not row.version:
        return ConversationState()
    data = dict(row.data)
    return ConversationState(
        step=row.step, data=data.get("draft", {}), history=list(data.get("history", [])),
        choices=list(data.get("choices", [])), version=row.version, updated_at=row.updated_at,
    )


def identity_from(key: ConversationKey, row: Any) -> Identity:
    """Who is speaking, from a row with the identity's enterprise_id and the STAFF_COLUMNS."""
    staff = Staff(row.staff_id, row.staff_name, row.unit_id, row.role, row.mobile) if row.staff_id else None
    return Identity(key, staff, row.enterprise_id)


def outbox_rows(messages: Sequence[OutboundMessage], now: datetime) -> list[dict[str, Any]]:
    """Outbox rows for messages, each with the same columns; a mailbox channel's rows (the web chat,
    whose page reads the outbox itself) are delivered by being stored."""
    rows = []
    for m in messages:
        stored = m.delivered_on_store
        rows.append({
            "channel": m.recipient.channel, "recipient": m.recipient.user_id,
            "body": m.body() | ({"reply_context": m.reply_context} if m.reply_context else {}),
            "appeal_number": m.appeal_number, "status": "sent" if stored else "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now, "sent_at": now if stored else None})
    return rows
