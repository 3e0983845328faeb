"""The statements that open and close every turn, one implementation per database: SQLite's on the
sqlite3 connection qihu owns, PostgreSQL's on the asyncpg connection; their columns come from the tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, insert, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import ConversationKey, OutboundMessage
from bot.services.ports import ConversationState, OpenedTurn
from storage import tables as t
from storage.engine import DirectConnection, PgDriver
from storage.fastpath import FastStatement
from storage.rows import (
    CONVERSATION_KEY,
    CONVERSATION_STATE,
    INBOUND_COLUMNS,
    STAFF_COLUMNS,
    conversation_row,
    identity_from,
    new_conversation_row,
    outbox_rows,
    state_from,
)

_STATEMENTS: dict[tuple[str, Any], FastStatement] = {}  # compiled once per dialect and shape
SIGNATURE_COLUMNS = tuple(c.name for c in t.callback_signatures.c)


def _signature_claim(dialect_name: str) -> Any:
    """A callback's (timestamp, sign) pair with its msgId; RETURNING gives no row when the pair is known.
    Built once by SQLAlchemy for either database, run on the turn's own connection (issue 14 §3)."""
    def build() -> Any:
        insert_ = postgresql.insert if dialect_name == "postgresql" else sqlite_insert
        return insert_(t.callback_signatures).on_conflict_do_nothing().returning(t.callback_signatures.c.message_id)
    return build


def _compiled(dialect: Dialect, name: Any, build: Any, keys: Sequence[str] | None = None) -> FastStatement:
    stmt = _STATEMENTS.get((dialect.name, name))
    if stmt is None:
        stmt = _STATEMENTS[(dialect.name, name)] = FastStatement(build(), dialect, keys)
    return stmt


# ---- SQLite ----

def _sqlite_claim() -> Any:
    return sqlite_insert(t.inbound_messages).on_conflict_do_nothing()


def _sqlite_load() -> Any:
    """The conversation (if any) and the sender's identity, in one row whatever exists."""
    conv, ident, staff = t.conversations, t.identities, t.staff
    one = select(literal_column("1").label("one")).subquery()
    return select(*(conv.c[n] for n in CONVERSATION_STATE), ident.c.enterprise_id,
                  *(column.label(label) for label, column in STAFF_COLUMNS.items())).select_from(
        one.outerjoin(conv, and_(conv.c.channel == bindparam("channel"), conv.c.user_id == bindparam("user_id")))
        .outerjoin(ident, and_(ident.c.channel == bindparam("channel"), ident.c.external_id == bindparam("user_id")))
        .outerjoin(staff, and_(staff.c.id == ident.c.staff_id, staff.c.active.is_(True))))


def _sqlite_save() -> Any:
    stmt = sqlite_insert(t.conversations)
    return stmt.on_conflict_do_update(index_elements=[t.conversations.c[n] for n in CONVERSATION_KEY],
                                      set_={n: stmt.excluded[n] for n in CONVERSATION_STATE})


def _outbox_insert() -> Any:
    return insert(t.outbox).returning(t.outbox.c.id)


class SqliteTurnStore:
    """SQLite: the claim, one read of the conversation with the sender's identity, the outbox rows and
    the save, compiled once and run on the sqlite3 connection of a DirectConnection (skipping
    SQLAlchemy's execution path, which costs several times what SQLite takes: docs/benchmarks.md);
    on any other SQLite connection the same SQL goes through exec_driver_sql."""

    def __init__(self, conn: DirectConnection | AsyncConnection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.raw = conn.raw if isinstance(conn, DirectConnection) else None

    async def _run(self, stmt: FastStatement, params: dict[str, Any]) -> Any:
        """The statement's cursor (or result): either way with .rowcount and .fetchone()."""
        if self.raw is not None:
            return self.raw.execute(stmt.sql, stmt.args(params))
        return await self.conn.exec_driver_sql(stmt.sql, tuple(stmt.args(params)))

    async def open(self, key: ConversationKey, message_id: str, now: datetime) -> OpenedTurn | None:
        """Claim the message and load the conversation and the sender's identity (the transaction's
        BEGIN IMMEDIATE already holds the database's write lock); None for a message seen before."""
        claim = _compiled(self.dialect, "claim", _sqlite_claim, INBOUND_COLUMNS)
        params = {"channel": key.channel, "message_id": message_id[:191], "received_at": now}
        if (await self._run(claim, params)).rowcount != 1:
            return None
        load = _compiled(self.dialect, "load", _sqlite_load)
        row = load.row((await self._run(load, {"channel": key.channel, "user_id": key.user_id})).fetchone())
        return OpenedTurn(state_from(row), identity_from(key, row))

    async def claim_signature(self, row: dict[str, Any]) -> bool:
        """True when the row's (channel, timestamp, sign) was not stored yet, and now is."""
        stmt = _compiled(self.dialect, "signature", _signature_claim(self.dialect.name), SIGNATURE_COLUMNS)
        return (await self._run(stmt, row)).fetchone() is not None

    async def close(self, key: ConversationKey, state: ConversationState, messages: Sequence[OutboundMessage],
                    now: datetime) -> list[int]:
        """Store the turn's messages in the outbox and its new state; returns the outbox ids in order."""
        ids = []
        for row in outbox_rows(messages, now):
            # One statement per row: SQLite does not promise RETURNING's order for a multi-row insert.
            stmt = _compiled(self.dialect, ("outbox", tuple(row)), _outbox_insert, tuple(row))
            ids.append((await self._run(stmt, row)).fetchone()[0])
        row = conversation_row(key, state, now)
        await self._run(_compiled(self.dialect, "save", _sqlite_save, tuple(row)), row)
        state.version += 1
        return ids


# ---- PostgreSQL ----

def _names(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + c for c in columns)


def _binds(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(f":{prefix}{c}" for c in columns)


def _casts(table: t.Table, columns: Sequence[str], prefix: str) -> str:
    """Typed parameters, for a SELECT list (whose parameters PostgreSQL cannot type from a column)."""
    return ", ".join(f"CAST(:{prefix}{c} AS {table.c[c].type.compile(dialect=postgresql.dialect())})"
                     for c in columns)


def _typed(table: t.Table, columns: Sequence[str], prefix: str = "") -> list[Any]:
    return [bindparam(prefix + c, type_=table.c[c].type) for c in columns]


_CONVERSATION_COLUMNS = CONVERSATION_KEY + CONVERSATION_STATE
_WHERE_KEY = " AND ".join(f"{c} = :{c}" for c in CONVERSATION_KEY)


def _pg_open() -> Any:
    """Claim the message id, create the conversation row if it is new, lock it and read it with the
    sender's identity. All parts see one snapshot: a row another transaction inserted and committed
    after it began is neither created nor read here, which `open` detects and reads again."""
    staff = ", ".join(f"s.{column.name} AS {label}" for label, column in STAFF_COLUMNS.items())
    sql = f"""
WITH claim AS (
    INSERT INTO inbound_messages ({_names(INBOUND_COLUMNS)}) VALUES ({_binds(INBOUND_COLUMNS)})
    ON CONFLICT DO NOTHING RETURNING 1
), touch AS (
    INSERT INTO conversations ({_names(_CONVERSATION_COLUMNS)})
    SELECT {_casts(t.conversations, _CONVERSATION_COLUMNS, "new_")} WHERE EXISTS (SELECT 1 FROM claim)
    ON CONFLICT DO NOTHING RETURNING 1
), conv AS (
    SELECT {_names(CONVERSATION_STATE)} FROM conversations WHERE {_WHERE_KEY} FOR UPDATE
)
SELECT EXISTS (SELECT 1 FROM claim) AS claimed, EXISTS (SELECT 1 FROM touch) AS created,
       {_names(CONVERSATION_STATE, "conv.")}, i.enterprise_id, {staff}
FROM (SELECT 1) AS one
LEFT JOIN conv ON TRUE
LEFT JOIN identities AS i ON i.channel = :channel AND i.external_id = :user_id
LEFT JOIN staff AS s ON s.id = i.staff_id AND s.active
"""
    return text(sql).bindparams(
        *_typed(t.inbound_messages, INBOUND_COLUMNS), *_typed(t.conversations, _CONVERSATION_COLUMNS, "new_"),
    ).columns(claimed=Boolean, created=Boolean, **{c: t.conversations.c[c].type for c in CONVERSATION_STATE},
              enterprise_id=t.identities.c.enterprise_id.type,
              **{label: column.type for label, column in STAFF_COLUMNS.items()})


def _pg_lock() -> Any:
    return text(f"SELECT {_names(CONVERSATION_STATE)} FROM conversations WHERE {_WHERE_KEY} FOR UPDATE").columns(
        *(t.conversations.c[c] for c in CONVERSATION_STATE))


def _pg_close(rows: int, outbox_columns: Sequence[str]) -> Any:
    """Save the conversation and insert `rows` outbox rows, returning their ids: one statement."""
    assignments = ", ".join(f"{c} = :{c}" for c in CONVERSATION_STATE)
    save = f"UPDATE conversations SET {assignments} WHERE {_WHERE_KEY}"
    binds = _typed(t.conversations, CONVERSATION_STATE)
    if rows == 0:
        return text(save).bindparams(*binds)
    values = ", ".join(f"({_binds(outbox_columns, f'r{i}_')})" for i in range(rows))
    for i in range(rows):
        binds += _typed(t.outbox, outbox_columns, f"r{i}_")
    return text(f"WITH saved AS ({save}) INSERT INTO outbox ({_names(outbox_columns)}) VALUES {values} "
                "RETURNING id").bindparams(*binds)


class PgTurnStore:
    """PostgreSQL inside a PgUnitOfWork: one statement to open a turn and one to close it, sent on the
    asyncpg connection with the types SQLAlchemy would apply (SQLAlchemy's execution path cost more
    than the round trip itself: docs/benchmarks.md)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.dialect = conn.dialect
        self.driver = PgDriver(conn)

    async def open(self, key: ConversationKey, message_id: str, now: datetime) -> OpenedTurn | None:
        """Claim the message, create-if-missing, lock and load the conversation and the sender's
        identity; None for a message id seen before (a re-delivery)."""
        params = {"channel": key.channel, "message_id": message_id[:191], "user_id": key.user_id,
                  "received_at": now, **{f"new_{c}": v for c, v in new_conversation_row(key, now).items()}}
        r = await self.driver.fetchrow(_compiled(self.dialect, "open", _pg_open), params)
        if not r.claimed:
            return None
        identity = identity_from(key, r)
        if r.created:
            return OpenedTurn(ConversationState(), identity)
        if r.version is None:  # created and committed by another transaction after our snapshot
            r = await self.driver.fetchrow(_compiled(self.dialect, "lock", _pg_lock),
                                           {"channel": key.channel, "user_id": key.user_id})
        return OpenedTurn(state_from(r), identity)

    async def claim_signature(self, row: dict[str, Any]) -> bool:
        """True when the row's (channel, timestamp, sign) was not stored yet, and now is."""
        stmt = _compiled(self.dialect, "signature", _signature_claim(self.dialect.name), SIGNATURE_COLUMNS)
        return await self.driver.fetchrow(stmt, row) is not None

    async def close(self, key: ConversationKey, state: ConversationState, messages: Sequence[OutboundMessage],
                    now: datetime) -> list[int]:
        """Store the turn's messages in the outbox and its new state; returns the outbox ids in order."""
        params = conversation_row(key, state, now)
        rows = outbox_rows(messages, now)
        columns = tuple(rows[0]) if rows else ()
        for i, row in enumerate(rows):
            params.update({f"r{i}_{c}": v for c, v in row.items()})
        stmt = _compiled(self.dialect, ("close", len(rows), columns), lambda: _pg_close(len(rows), columns))
        result = await self.driver.fetch(stmt, params)
        state.version += 1
        return sorted(r[0] for r in result)


def turn_store(conn: DirectConnection | AsyncConnection) -> SqliteTurnStore:
    """The turn statements of a SqlUnitOfWork's connection: SQLite's; PostgreSQL's need PgUnitOfWork,
    which drives the transaction on the asyncpg connection the statements are sent on."""
    if conn.dialect.name != "sqlite":
        raise RuntimeError(f"{conn.dialect.name}: a turn runs in uow_factory's unit of work (PgUnitOfWork)")
    return SqliteTurnStore(conn)
