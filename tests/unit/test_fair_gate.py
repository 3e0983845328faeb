"""PostgreSQL's units of work wait for a connection in the order they came."""

from __future__ import annotations

import asyncio

import pytest

from storage.unit_of_work import FairGate


async def test_a_newcomer_does_not_pass_a_waiter():
    gate = FairGate(1)
    await gate.enter()  # the one slot is taken
    order: list[str] = []

    async def unit_of_work(name: str) -> None:
        await gate.enter()
        order.append(name)
        await asyncio.sleep(0)  # hold the slot across a loop turn, as a real unit of work does
        gate.leave()

    waiter = asyncio.create_task(unit_of_work("waiter"))
    await asyncio.sleep(0)  # the waiter is queued
    # A request that is already due to run (ahead of the waiter's wake-up) asks just after the slot
    # is freed: with SQLAlchemy's pool queue it would take the slot and the waiter would wait again.
    newcomer = asyncio.create_task(unit_of_work("newcomer"))
    gate.leave()
    await asyncio.gather(waiter, newcomer)
    assert order == ["waiter", "newcomer"]


async def test_a_full_gate_refuses_after_its_timeout_and_says_why():
    gate = FairGate(1, timeout=0)
    await gate.enter()
    with pytest.raises(TimeoutError, match="no database connection free for 0 s"):
        await gate.enter()
    gate.leave()
    await gate.enter()  # the refused wait left nothing behind: the slot is usable again
