"""Many enterprises filing at once; one person's two messages at once; two app instances on one database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.domain.identifiers import uscc_check_char
from storage.engine import create_engine
from tests.conftest import PG_URL, Chat, conversation_state, start_app

PROBLEM = "园区这周已经停电三次了，每次都没有提前通知，设备损坏严重"


def uscc(i: int) -> str:
    """50 valid, distinct credit codes: 17 characters with a varying tail, check digit computed."""
    body = f"91330825MA2D{i:05d}"
    return body + uscc_check_char(body)


async def to_confirm_step(chat: Chat, i: int) -> None:
    await chat.say(PROBLEM)
    for answer in (f"示范企业{i:02d}有限公司", uscc(i), "张伟", f"1380013{i:04d}", "溪口镇", "1"):
        await chat.say(answer)
    assert "确认提交" in chat.choice_labels[0]


async def test_fifty_enterprises_confirm_at_once(app):
    chats = [Chat(app, f"ent-{i}") for i in range(50)]
    await asyncio.gather(*(to_confirm_step(c, i) for i, c in enumerate(chats)))
    replies = await asyncio.gather(*(c.say("确认提交") for c in chats))
    assert all("诉求已登记" in r for r in replies)
    numbers = sorted(r.split("编号 ")[1].split("。")[0] for r in replies)
    assert numbers == [f"QH20261125-{n:04d}" for n in range(1, 51)]  # unique and gap-free
    async with app.runtime.uow() as uow:
        assert await uow.appeals.count() == 50


async def test_two_messages_of_one_person_at_once_leave_one_consistent_state(app):
    chat = Chat(app, "ent-x")
    await chat.say(PROBLEM)
    first, second = await asyncio.gather(chat.say("甲公司有限公司"), chat.say("乙公司有限公司"))
    state = await conversation_state(app, chat.key)
    # One answer was taken as the company name, the other was judged as a credit code.
    assert state.step == "filing.uscc"
    assert state.data["company"] in ("甲公司有限公司", "乙公司有限公司")
    assert sorted(["统一社会信用代码（18 位" in first, "统一社会信用代码应为 18 位" in first]) == [False, True]
    assert ("应为 18 位" in first) != ("应为 18 位" in second)


async def test_two_app_instances_on_one_database_serialise_a_conversation(settings, clock, app):
    other = await start_app(settings, clock)
    try:
        a, b = Chat(app, "ent-y"), Chat(other, "ent-y")
        await a.say(PROBLEM)
        await asyncio.gather(a.say("甲公司有限公司"), b.say("乙公司有限公司"))
        state = await conversation_state(app, a.key)
        assert state.step == "filing.uscc"
        assert state.version == 3
    finally:
        await other.close()


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set QIHU_TEST_DATABASE_URL (dropped server connections)")
async def test_a_turn_survives_the_database_dropping_every_pooled_connection(app, settings):
    chat = Chat(app, "ent-z")
    assert "企业诉求服务" in await chat.say("帮助")  # the pool now holds a live connection
    # A database restart, or a firewall dropping idle connections: every connection but ours dies.
    killer = create_engine(settings.database.url)
    try:
        async with killer.connect() as conn:
            killed = (await conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
    finally:
        await killer.dispose()
    assert killed >= 1
    reply = await chat.say(PROBLEM)  # the dead connection fails the first statement; the turn runs again
    assert "请输入企业全称" in reply
    state = await conversation_state(app, chat.key)
    assert state.step == "filing.company" and state.version == 2
