"""The turn's SQLite statements, run on the sqlite3 connection, store and read exactly what SQLAlchemy would."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import create_engine
from sqlalchemy.dialects import sqlite

from storage import turn_repository as turns
from storage.fastpath import FastStatement
from storage.rows import INBOUND_COLUMNS
from storage.tables import metadata

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 26, 9, 30, 5, 123456, tzinfo=SHANGHAI)
CONVERSATION = {"channel": "web", "user_id": "ent-1", "step": "filing.uscc", "version": 3, "updated_at": NOW,
                "data": {"draft": {"company": "示范有限公司", "n": 1.5}, "history": ["idle"], "choices": [], "x": None}}
OUTBOX = {"channel": "dingtalk", "recipient": "ent-1", "body": {"text": "您好 <b>&", "choices": [["1", "是"]]},
          "appeal_number": None, "status": "pending", "attempts": 0, "next_attempt_at": NOW,
          "created_at": NOW + timedelta(microseconds=1), "sent_at": None}
CASES = [
    ("inbound_claim", turns._sqlite_claim, INBOUND_COLUMNS, "inbound_messages",
     {"channel": "dingtalk", "message_id": "m-1", "received_at": NOW}),
    ("conversation_save", turns._sqlite_save, tuple(CONVERSATION), "conversations", CONVERSATION),
    ("outbox_insert", turns._outbox_insert, tuple(OUTBOX), "outbox", OUTBOX),
]


def stored(path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table}").fetchall()


def test_fast_statements_store_what_sqlalchemy_stores(tmp_path):
    for name, build, keys, table, params in CASES:
        by_sqlalchemy, by_fast = tmp_path / f"{name}-sa.db", tmp_path / f"{name}-fast.db"
        for path in (by_sqlalchemy, by_fast):
            metadata.create_all(create_engine(f"sqlite:///{path}"))
        engine = create_engine(f"sqlite:///{by_sqlalchemy}")
        with engine.begin() as conn:
            conn.execute(build(), params)
        fast = FastStatement(build(), sqlite.dialect(), keys)
        with sqlite3.connect(by_fast) as conn:
            conn.execute(fast.sql, fast.args(params))
        assert stored(by_fast, table) == stored(by_sqlalchemy, table), name
        assert len(stored(by_fast, table)) == 1


def test_fast_rows_read_what_sqlalchemy_reads(tmp_path):
    path = tmp_path / "read.db"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(turns._sqlite_save(), CONVERSATION)
        expected = conn.execute(turns._sqlite_load(), {"channel": "web", "user_id": "ent-1"}).one()
    load = FastStatement(turns._sqlite_load(), sqlite.dialect())
    with sqlite3.connect(path) as conn:
        row = load.row(conn.execute(load.sql, load.args({"channel": "web", "user_id": "ent-1"})).fetchone())
    assert tuple(row) == tuple(expected)
    assert row.version == 3 and row.staff_id is None and row.enterprise_id is None
    assert row.updated_at == NOW and row.updated_at.tzinfo == UTC
    assert row.data["draft"]["company"] == "示范有限公司"


def test_a_naive_time_is_refused_as_on_the_sqlalchemy_path():
    fast = FastStatement(turns._sqlite_claim(), sqlite.dialect(), INBOUND_COLUMNS)
    try:
        fast.args({"channel": "web", "message_id": "m", "received_at": datetime(2026, 11, 26, 9, 0)})
    except ValueError as exc:
        assert "naive datetime" in str(exc)
    else:
        raise AssertionError("a naive datetime was accepted")
