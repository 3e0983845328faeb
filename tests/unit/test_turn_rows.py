"""The turn's rows are mapped in storage/rows.py alone; both databases' statements take their columns from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite

from bot.messages import ConversationKey, OutboundMessage
from bot.services.ports import ConversationState
from storage import tables as t
from storage import turn_repository as turns
from storage.fastpath import FastStatement
from storage.rows import conversation_row, new_conversation_row, outbox_rows, state_from

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
KEY = ConversationKey("web", "ent-1")


def test_the_rows_fill_every_column_of_their_tables():
    # A column added to the table without a value here fails this test, not a turn in production.
    assert set(conversation_row(KEY, ConversationState(), NOW)) == {c.name for c in t.conversations.c}
    [row] = outbox_rows([OutboundMessage(KEY, "您好", [], None, {})], NOW)
    assert set(row) == {c.name for c in t.outbox.c} - {"id", "last_error"}  # the database's, the sender's


def test_a_state_survives_its_row():
    state = ConversationState("filing.uscc", {"company": "示范有限公司"}, ["idle"], ["1"], version=4, updated_at=NOW)
    row = conversation_row(KEY, state, NOW)
    back = state_from(type("Row", (), row))
    assert (back.step, back.data, back.history, back.choices, back.version) == (
        "filing.uscc", {"company": "示范有限公司"}, ["idle"], ["1"], 5)
    assert state_from(type("Row", (), new_conversation_row(KEY, NOW))) == ConversationState()


def test_both_databases_statements_name_every_column_of_the_row():
    conversation = {c.name for c in t.conversations.c}
    outbox = tuple(outbox_rows([OutboundMessage(KEY, "x", [], None, {})], NOW)[0])
    pg_open = FastStatement(turns._pg_open(), postgresql.asyncpg.dialect()).sql
    pg_close = FastStatement(turns._pg_close(1, outbox), postgresql.asyncpg.dialect()).sql
    sqlite_save = FastStatement(turns._sqlite_save(), sqlite.dialect(), tuple(conversation)).sql
    sqlite_load = FastStatement(turns._sqlite_load(), sqlite.dialect()).sql
    for name in conversation:
        assert all(name in sql for sql in (pg_open, pg_close, sqlite_save, sqlite_load)), name
    for name in outbox:
        assert name in pg_close, name
