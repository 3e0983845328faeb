"""SQLite group commit: units of work that arrive together share one COMMIT, each in its own savepoint."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from storage import tables as t
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="group commit is SQLite's (PostgreSQL: one transaction each)")


async def stored_claims(app: App) -> set[str]:
    async with app.engine.connect() as conn:
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
