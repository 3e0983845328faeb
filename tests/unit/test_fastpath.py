"""The per-turn statements run on the sqlite3 connection store and read exactly what SQLAlchemy would."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import create_engine
from sqlalchemy.dialects import sqlite

from storage import repositories as repo
from storage.fastpath import FastStatement
from storage.tables import metadata

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 26, 9, 30, 5, 123456, tzinfo=SHANGHAI)
CASES = [
    ("inbound_claim", repo._inbound_claim, repo._INBOUND_KEYS, "inbound_messages",
     {"channel": "dingtalk", "message_id": "m-1", "received_at": NOW}),
    ("conversation_save", repo._conversation_save, repo._CONVERSATION_KEYS, "conversations",
     {"channel": "web", "user_id": "ent-1", "step": "filing.uscc", "version": 3, "updated_at": NOW,
      "data": {"draft": {"company": "示范有限公司", "n": 1.5}, "history": ["idle"], "choices": [], "x": None}}),
    ("outbox_insert", repo._outbox_insert, repo._OUTBOX_KEYS, "outbox",
     {"channel": "dingtalk", "recipient": "ent-1", "body": {"text": "您好 <b>&", "choices": [["1", "是"]]},
      "appeal_number": None, "status": "pending", "attempts": 0, "next_attempt_at": NOW,
      "created_at": NOW + timedelta(microseconds=1), "sent_at": None}),
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
            conn.execute(build(sqlite.insert), params)
        fast = FastStatement(build(sqlite.insert), sqlite.dialect(), keys)
        with sqlite3.connect(by_fast) as conn:
            conn.execute(fast.sql, fast.args(params))
        assert stored(by_fast, table) == stored(by_sqlalchemy, table), name
        assert len(stored(by_fast, table)) == 1


def test_fast_rows_read_what_sqlalchemy_reads(tmp_path):
    path = tmp_path / "read.db"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    _name, build, _keys, _table, params = CASES[1]
    with engine.begin() as conn:
        conn.execute(build(sqlite.insert), params)
        expected = conn.execute(repo._conversation_select(None), {"channel": "web", "user_id": "ent-1"}).one()
    select = FastStatement(repo._conversation_select(None), sqlite.dialect())
    with sqlite3.connect(path) as conn:
        row = select.row(conn.execute(select.sql, select.args({"channel": "web", "user_id": "ent-1"})).fetchone())
    assert tuple(row) == tuple(expected)
    assert row.updated_at == NOW and row.updated_at.tzinfo == UTC
    assert row.data["draft"]["company"] == "示范有限公司"


def test_a_naive_time_is_refused_as_on_the_sqlalchemy_path():
    fast = FastStatement(repo._inbound_claim(sqlite.insert), sqlite.dialect(), repo._INBOUND_KEYS)
    try:
        fast.args({"channel": "web", "message_id": "m", "received_at": datetime(2026, 11, 26, 9, 0)})
    except ValueError as exc:
        assert "naive datetime" in str(exc)
    else:
        raise AssertionError("a naive datetime was accepted")
