"""The webhook rows written with each timeline step: one pending outbox row per subscription and event."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.appeal import Appeal, AppealEvent
from bot.services import webhooks
from storage import tables as t


async def add_webhook_rows(conn: AsyncConnection, appeal: Appeal, events: Sequence[AppealEvent]) -> None:
    """One pending outbox row per subscription for each step other systems are told about, in the
    transaction that stores the step: a rolled-back step is never announced, a stored one always is.
    The recipient is subscription/appeal, so one appeal's events go out in order and a slow appeal
    holds up no other."""
    kinds = [(e, k) for e in events if (k := webhooks.event_type(e)) is not None]
    if not kinds:
        return
    c = t.webhook_subscriptions.c
    client = appeal.flags.get("api_client")
    who = c.all_appeals.is_(True) if client is None else or_(c.all_appeals.is_(True), c.client_id == client)
    ids = (await conn.execute(select(c.id).where(c.deleted_at.is_(None), who).order_by(c.id))).scalars().all()
    if not ids:
        return
    now = events[-1].at
    rows = []
    for event, kind in kinds:
        body = webhooks.payload(appeal, event, kind)
        rows += [{"channel": webhooks.CHANNEL, "recipient": f"{i}/{appeal.number}", "body": body,
                  "appeal_number": appeal.number, "status": "pending", "attempts": 0, "next_attempt_at": now,
                  "created_at": now, "sent_at": None} for i in ids]
    for row in rows:  # one statement each keeps the ids in event order on both databases
        await conn.execute(insert(t.outbox), row)
