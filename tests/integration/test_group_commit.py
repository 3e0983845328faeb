"""SQLite group commit: units of work that arrive together share one COMMIT, each in its own savepoint."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from storage import tables as t
from storage.engine import DirectConnection
from tests.conftest import PG_URL, Chat, conversation_state, start_app

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="group commit is SQLite's (PostgreSQL: one transaction each)")


async def stored_claims(app: App) -> set[str]:
    async with app.database.engine.connect() as conn:
        return {r[0] for r in (await conn.execute(select(t.inbound_messages.c.message_id))).all()}


async def test_batch_mates_are_stored_together_and_a_failing_one_rolls_back_alone(app: App) -> None:
    group = app.runtime.uow.group  # type: ignore[attr-defined]
    commits, members = group.commits, group.members
    go = asyncio.Event()
    order: list[str] = []

    async def unit(name: str, *, fail: bool = False, hold: bool = False) -> None:
        async with app.runtime.uow() as uow:
            assert await uow.inbound.claim("web", name, app.runtime.now())
            if hold:
                await go.wait()  # the others queue for the connection meanwhile
            if fail:
                raise RuntimeError("this turn fails")
            await uow.commit()
            order.append(name)  # commit() returned: the batch's COMMIT has happened

    async def release() -> None:
        go.set()

    results = await asyncio.gather(unit("a", hold=True), unit("b", fail=True), unit("c"), release(),
                                   return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    assert sorted(order) == ["a", "c"]
    assert (group.commits - commits, group.members - members) == (1, 2)  # one COMMIT carried both
    assert await stored_claims(app) == {"a", "c"}


async def test_a_reader_that_saw_uncommitted_work_waits_for_its_commit(app: App) -> None:
    go = asyncio.Event()
    seen: list[int] = []

    async def writer() -> None:
        async with app.runtime.uow() as uow:
            await uow.inbound.claim("web", "w", app.runtime.now())
            await go.wait()
            await uow.commit()

    async def reader() -> None:
        async with app.runtime.uow() as uow:
            seen.append(len(await uow.outbox.recent(None, 10)))
        assert "w" in await stored_claims(app)  # what it might have seen is stored by now

    async def release() -> None:
        go.set()

    await asyncio.gather(writer(), reader(), release())
    assert seen == [0]

PROBLEM = "我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复"


async def test_a_turn_runs_on_the_sqlite3_connection_qihu_owns(app: App) -> None:
    async with app.runtime.uow() as uow:
        assert isinstance(uow.conn, DirectConnection)
        assert uow.turns.raw is uow.conn.raw  # type: ignore[attr-defined]
    chat = Chat(app, "ent-own")
    assert "请输入企业全称" in await chat.say(PROBLEM)
    assert (await conversation_state(app, chat.key)).step == "filing.company"


async def test_without_inline_statements_the_same_turn_runs_through_aiosqlite(settings, clock) -> None:
    database = settings.database.model_copy(update={"sqlite_inline": False})
    app = await start_app(settings.model_copy(update={"database": database}), clock)
    try:
        async with app.runtime.uow() as uow:
            assert not isinstance(uow.conn, DirectConnection) and uow.turns.raw is None  # type: ignore[attr-defined]
        chat = Chat(app, "ent-thread")
        await chat.say("你好", message_id="m-1")
        assert "请输入企业全称" in await chat.say(PROBLEM)
        assert await chat.say("你好", message_id="m-1") == ""  # a re-delivery is still recognised
        state = await conversation_state(app, chat.key)
        assert (state.step, state.version) == ("filing.company", 2)
    finally:
        await app.close()
