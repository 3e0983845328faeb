"""The statements that open and close every turn: on PostgreSQL one round trip each on the asyncpg
connection itself, elsewhere the repositories' own statements (on SQLite run on the sqlite3 connection
directly inside a group-commit batch)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import ConversationKey, OutboundMessage
from bot.services.ports import ConversationState, Identity, OpenedTurn, Staff
from storage.engine import PgDriver
from storage.fastpath import FastStatement
from storage.repositories import (
    SqlConversationRepository,
    SqlDirectoryRepository,
    SqlInboundLog,
    SqlOutbox,
    outbox_rows,
)
from storage.tables import UtcDateTime

# Claim the message id, create the conversation row if it is new, lock it and read it with the
# sender's identity. All parts see one snapshot: a row another transaction inserted and committed
# after it began is neither created nor read here, which `open` detects and reads again.
_PG_OPEN = text("""
WITH claim AS (
    INSERT INTO inbound_messages (channel, message_id, received_at)
    VALUES (:channel, :message_id, :now) ON CONFLICT DO NOTHING RETURNING 1
), touch AS (
    INSERT INTO conversations (channel, user_id, step, data, version, updated_at)
    SELECT :channel, :user_id, 'idle', CAST('{}' AS JSON), 0, :now WHERE EXISTS (SELECT 1 FROM claim)
    ON CONFLICT DO NOTHING RETURNING 1
), conv AS (
    SELECT step, data, version, updated_at FROM conversations
    WHERE channel = :channel AND user_id = :user_id FOR UPDATE
)
SELECT EXISTS (SELECT 1 FROM claim) AS claimed, EXISTS (SELECT 1 FROM touch) AS created,
       conv.step, conv.data, conv.version, conv.updated_at, i.enterprise_id,
       s.id AS staff_id, s.name AS staff_name, s.unit_id, s.role, s.mobile
FROM (SELECT 1) AS one
LEFT JOIN conv ON TRUE
LEFT JOIN identities AS i ON i.channel = :channel AND i.external_id = :user_id
LEFT JOIN staff AS s ON s.id = i.staff_id AND s.active
""").bindparams(bindparam("now", type_=UtcDateTime())).columns(
    claimed=Boolean, created=Boolean, step=String, data=JSON, version=Integer, updated_at=UtcDateTime(),
    enterprise_id=Integer, staff_id=String, staff_name=String, unit_id=String, role=String, mobile=String)

_OUTBOX_COLUMNS = ("channel", "recipient", "body", "appeal_number", "status", "attempts", "next_attempt_at",
                   "created_at", "sent_at")
_PG_FAST: dict[str | int, FastStatement] = {}  # "open", and the close statement by its outbox row count


def _pg_open(conn: AsyncConnection) -> FastStatement:
    stmt = _PG_FAST.get("open")
    if stmt is None:
        stmt = _PG_FAST["open"] = FastStatement(_PG_OPEN, conn.dialect)
    return stmt


def _pg_close(conn: AsyncConnection, rows: int) -> FastStatement:
    """Save the conversation and insert `rows` outbox rows, returning their ids: one statement."""
    stmt = _PG_FAST.get(rows)
    if stmt is not None:
        return stmt
    save = ("UPDATE conversations SET step = :step, data = :data, version = :version, updated_at = :updated_at "
            "WHERE channel = :channel AND user_id = :user_id")
    if rows == 0:
        sql = save
    else:
        values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in _OUTBOX_COLUMNS) + ")" for i in range(rows))
        sql = (f"WITH saved AS ({save}) INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) VALUES {values} "
               "RETURNING id")
    binds = [bindparam("data", type_=JSON()), bindparam("updated_at", type_=UtcDateTime())]
    for i in range(rows):
        binds += [bindparam(f"body_{i}", type_=JSON())] + [
            bindparam(f"{c}_{i}", type_=UtcDateTime()) for c in ("next_attempt_at", "created_at", "sent_at")]
    stmt = _PG_FAST[rows] = FastStatement(text(sql).bindparams(*binds), conn.dialect)
    return stmt


class SqlTurnStore:
    """Any database, through the repositories' statements."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def open(self, key: ConversationKey, message_id: str, now: datetime) -> OpenedTurn | None:
        """Claim the message, lock and load the conversation and the sender's identity; None for a
        message id seen before (a re-delivery)."""
        if not await SqlInboundLog(self.conn).claim(key.channel, message_id, now):
            return None
        state = await SqlConversationRepository(self.conn).lock_and_load(key)
        return OpenedTurn(state, await SqlDirectoryRepository(self.conn).identity(key))

    async def close(self, key: ConversationKey, state: ConversationState, messages: Sequence[OutboundMessage],
                    now: datetime, mailbox_channels: frozenset[str] = frozenset()) -> list[int]:
        """Store the turn's messages in the outbox and its new state; returns the outbox ids in order."""
        ids = await SqlOutbox(self.conn).add(messages, now, mailbox_channels)
        await SqlConversationRepository(self.conn).save(key, state)
        return ids


class PgTurnStore(SqlTurnStore):
    """PostgreSQL inside a PgUnitOfWork: one statement to open a turn and one to close it, sent on the
    asyncpg connection with the types SQLAlchemy would apply (SQLAlchemy's execution path cost more
    than the round trip itself: docs/benchmarks.md)."""

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn)
        self.driver = PgDriver(conn)

    async def open(self, key: ConversationKey, message_id: str, now: datetime) -> OpenedTurn | None:
        params = {"channel": key.channel, "message_id": message_id[:191], "user_id": key.user_id, "now": now}
        r = await self.driver.fetchrow(_pg_open(self.conn), params)
        if not r.claimed:
            return None
        staff = Staff(r.staff_id, r.staff_name, r.unit_id, r.role, r.mobile) if r.staff_id else None
        identity = Identity(key, staff, r.enterprise_id)
        if r.created or r.version == 0:
            return OpenedTurn(ConversationState(), identity)
        if r.version is None:  # created and committed by another transaction after our snapshot
            return OpenedTurn(await SqlConversationRepository(self.conn).lock_and_load(key), identity)
        return OpenedTurn(SqlConversationRepository.state_from(r), identity)

    async def close(self, key: ConversationKey, state: ConversationState, messages: Sequence[OutboundMessage],
                    now: datetime, mailbox_channels: frozenset[str] = frozenset()) -> list[int]:
        params: dict[str, Any] = {
            "channel": key.channel, "user_id": key.user_id, "step": state.step,
            "data": SqlConversationRepository.payload(state), "version": state.version + 1,
            "updated_at": state.updated_at or now}
        rows = outbox_rows(messages, now, mailbox_channels)
        for i, row in enumerate(rows):
            params.update({f"{c}_{i}": row[c] for c in _OUTBOX_COLUMNS})
        result = await self.driver.fetch(_pg_close(self.conn, len(rows)), params)
        state.version += 1
        return sorted(r[0] for r in result)
