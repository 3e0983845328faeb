"""SQLite keeps the sweeps and the open-appeal list on their indexes even after an ANALYZE, when its
statistics say a third of all appeals share each status (averages, no histograms)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.domain.appeal import Status
from tests.conftest import PG_URL
from tests.integration.test_filing_dialogue import file_first_appeal

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's planner and its statistics")


async def skewed_history(app, chat) -> None:  # type: ignore[no-untyped-def]
    """3,000 closed appeals and a handful of open ones, then ANALYZE: a county after a few years."""
    number = await file_first_appeal(chat)
    columns = [r[1] for r in sqlite3.connect(app.database.engine.url.database).execute("PRAGMA table_info(appeals)")]
    copied = [c for c in columns if c not in ("id", "number", "status", "due_at")]
    async with app.database.engine.begin() as conn:
        await conn.execute(text(
            f"INSERT INTO appeals (number, status, due_at, {', '.join(copied)}) "
            f"SELECT 'H' || s.i, CASE WHEN s.i % 500 = 0 THEN 'in_progress' ELSE 'closed' END, "
            "'2026-11-20 00:00:00.000000', "
            f"{', '.join('a.' + c for c in copied)} FROM appeals a CROSS JOIN "
            "(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 3000) SELECT i FROM r) s "
            "WHERE a.number = :n"), {"n": number})
        await conn.execute(text("ANALYZE"))


def plans(path: str, statements: list[str]) -> list[str]:
    with sqlite3.connect(path) as conn:
        return ["\n".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
                for sql in statements if "FROM appeals" in sql and sql.lstrip().upper().startswith("SELECT")]


async def test_sweeps_and_the_open_list_use_the_status_indexes_after_analyze(app, chat, clock):
    await skewed_history(app, chat)
    statements: list[str] = []
    async with app.runtime.uow() as uow:
        uow.conn.raw.set_trace_callback(statements.append)
        due = await uow.sweeps.appeals_due("overdue", [Status.DISPATCHED.value, Status.IN_PROGRESS.value], "due_at",
                                           before=clock.now() + timedelta(days=60), slot="x")
        rating = await uow.sweeps.appeals_due("rating_prompt", [Status.RESOLVED.value], "status_since",
                                              before=clock.now())
        still_open = await uow.tags.open_appeals()
        uow.conn.raw.set_trace_callback(None)
    assert len(due) == 6 and rating == [] and len(still_open) == 7  # 6 copies in progress + the filed one
    found = plans(app.database.engine.url.database, statements)
    assert len(found) == 3, statements
    for plan in found:
        assert "USING INDEX ix_appeals_status" in plan or "USING COVERING INDEX ix_appeals_status" in plan, plan
        assert "SCAN appeals" not in plan and "INTEGER PRIMARY KEY" not in plan, plan
