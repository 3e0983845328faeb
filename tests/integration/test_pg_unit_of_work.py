"""PostgreSQL's unit of work drives its transaction on the asyncpg connection: it commits all or
nothing, and its one-statement turn path stores exactly what SQLAlchemy's own statements store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from bot.messages import Choice, ConversationKey, OutboundMessage
from bot.services.ports import ConversationState
from storage import tables as t
from storage.engine import create_engine
from storage.rows import conversation_row
from storage.unit_of_work import PgUnitOfWork, SqlUnitOfWork, pg_autocommit
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set QIHU_TEST_DATABASE_URL")

NOW = datetime(2026, 11, 26, 9, 30, 5, 123456, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
async def engine(database_url):  # type: ignore[no-untyped-def]
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


async def claims(engine) -> list[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT message_id FROM inbound_messages ORDER BY 1"))).scalars())


async def test_commit_stores_and_leaving_without_commit_stores_nothing(engine):
    async with PgUnitOfWork(pg_autocommit(engine)) as uow:
        assert await uow.inbound.claim("web", "kept", NOW)
        await uow.commit()
    async with PgUnitOfWork(pg_autocommit(engine)) as uow:
        assert await uow.inbound.claim("web", "dropped", NOW)
    with pytest.raises(ZeroDivisionError):
        async with PgUnitOfWork(pg_autocommit(engine)) as uow:
            assert await uow.inbound.claim("web", "failed", NOW)
            raise ZeroDivisionError
    assert await claims(engine) == ["kept"]
    # The pool's one connection came back with no transaction left open: the next unit works.
    async with PgUnitOfWork(pg_autocommit(engine)) as uow:
        assert not await uow.inbound.claim("web", "kept", NOW)
        assert (await uow.conn.execute(text("SELECT txid_current_if_assigned() IS NULL"))).scalar_one()


async def test_a_transaction_with_a_failed_statement_is_refused_at_commit(engine):
    """PostgreSQL answers COMMIT in a failed transaction with ROLLBACK; that must not pass as stored."""
    with pytest.raises(RuntimeError, match="not committed: ROLLBACK"):
        async with PgUnitOfWork(pg_autocommit(engine)) as uow:
            assert await uow.inbound.claim("web", "m-1", NOW)
            with pytest.raises(DBAPIError):
                await uow.conn.execute(text("SELECT 1 / 0"))
            await uow.commit()
    assert await claims(engine) == []


async def test_the_one_statement_turn_stores_what_the_repositories_store(engine):
    # The last goes to the web chat, a mailbox: stored sent by both statement paths.
    messages = [OutboundMessage(ConversationKey("web" if i == 2 else "dingtalk", f"ent-{i}"), f"您好 <b>& {i}",
                                [Choice("是", "1")], None, {"session_webhook": "http://x"} if i == 0 else {})
                for i in range(3)]

    async def run(uow, user: str) -> tuple:  # type: ignore[no-untyped-def]
        key = ConversationKey("dingtalk", user)
        opened = await uow.turns.open(key, f"m-{user}", NOW)
        state = opened.state
        state.step, state.data, state.updated_at = "filing.uscc", {"company": "示范有限公司", "n": 1.5}, NOW
        ids = await uow.turns.close(key, state, messages, NOW)
        assert await uow.turns.open(key, f"m-{user}", NOW) is None  # the message is claimed
        await uow.commit()
        return ids, state.version

    async with PgUnitOfWork(pg_autocommit(engine)) as uow:
        assert type(uow.turns).__name__ == "PgTurnStore"
        fast = await run(uow, "fast")
    async with SqlUnitOfWork(engine) as uow:  # the same rows through SQLAlchemy's statements
        with pytest.raises(RuntimeError, match="PgUnitOfWork"):
            uow.turns  # noqa: B018 - a turn's statements need the asyncpg connection's transaction
        ids = await uow.outbox.add(messages, NOW)
        state = ConversationState("filing.uscc", {"company": "示范有限公司", "n": 1.5}, updated_at=NOW)
        row = conversation_row(ConversationKey("dingtalk", "plain"), state, NOW)
        await uow.conn.execute(insert(t.conversations), row)
        await uow.commit()
        plain = (ids, 1)
    assert fast == ([1, 2, 3], 1) and plain == ([4, 5, 6], 1)

    async with engine.connect() as conn:
        def rows(sql: str) -> list[tuple]:
            return [tuple(r) for r in conn.sync_connection.execute(text(sql))]

        conversations = await conn.run_sync(lambda _: rows(
            "SELECT user_id, step, data::text, version, updated_at FROM conversations ORDER BY user_id"))
        outbox = await conn.run_sync(lambda _: rows(
            "SELECT id, channel, recipient, body::text, appeal_number, status, attempts, next_attempt_at, "
            "created_at, sent_at FROM outbox ORDER BY id"))
    assert [c[0] for c in conversations] == ["fast", "plain"]
    assert conversations[0][1:] == conversations[1][1:]
    assert conversations[0][4] == NOW.astimezone(UTC)
    assert [o[1:] for o in outbox[:3]] == [o[1:] for o in outbox[3:]]
    assert '"reply_context": {"session_webhook": "http://x"}' in outbox[0][3]
    assert [o[5] for o in outbox] == ["pending", "pending", "sent"] * 2
