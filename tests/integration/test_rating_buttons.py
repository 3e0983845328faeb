"""Rating by buttons and by typed numbers: what each tap sends is what is stored (issue 15, items 0, 5, 6)."""

from __future__ import annotations

import re

from bot import texts
from bot.messages import InboundMessage
from handlers.notices import ChatNotices
from scheduler.jobs import run_pass
from tests.conftest import Chat, bind_staff
from tests.integration.test_filing_dialogue import file_first_appeal

LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}


async def resolved_for(app, clock, people: list[str]) -> list[tuple[Chat, str]]:  # type: ignore[no-untyped-def]
    """Each person files one appeal; the dispatcher sends it to 供电公司, which signs and resolves it."""
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    out = []
    for user in people:
        chat = Chat(app, user)
        number = await file_first_appeal(chat)
        await dispatcher.say(f"分派 {number} 供电公司")
        await li.say(f"签收 {number}")
        assert "已办结" in await li.say(f"办结 {number} 已解决 已完成增容，变压器已送电")
        out.append((chat, number))
    clock.advance(hours=1)
    return out


async def tap(chat: Chat, label: str) -> str:
    """What a channel sends when the person taps the button with this label: its value."""
    [value] = [c["value"] for c in chat.choices if c["label"] == label]
    return await chat.say(value)


async def stored(app, number: str):  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        a = await uow.appeals.get(number)
        [r] = await uow.evaluation.ratings(a.id)
    return r


async def test_every_level_button_stores_its_own_level(app, clock):
    people = [f"ent-{i}" for i in range(len(LEVELS))]
    rounds = await resolved_for(app, clock, people)
    for (chat, number), label in zip(rounds, LEVELS, strict=True):
        await chat.say(f"评价 {number}")
        assert chat.choice_labels == list(LEVELS)  # 非常满意 first, numbered 1–5 by every channel
        assert all(not c["value"].isdigit() for c in chat.choices)
        assert f"您选择了「{label}」" in await tap(chat, label)
        await tap(chat, texts.RATE_SKIP)
        await tap(chat, texts.RATE_SKIP)
        await tap(chat, "已解决")
        assert (await stored(app, number)).level == LEVELS[label]


async def test_a_typed_number_is_the_option_shown_with_that_number(app, clock):
    rounds = await resolved_for(app, clock, ["ent-a", "ent-b"])
    for (chat, number), typed, level in zip(rounds, ("1", "４"), (5, 2), strict=True):  # full-width ４ too
        await chat.say(f"评价 {number}")
        assert f"您选择了「{texts.RATING_LEVEL_LABELS[level]}」" in await chat.say(typed)
        await chat.say("跳过")
        await chat.say("跳过")
        await chat.say("部分解决")
        assert (await stored(app, number)).level == level


async def test_the_invitation_buttons_send_the_level_word(app, clock):
    [(chat, number)] = await resolved_for(app, clock, ["ent-n"])
    values = [c.value for c in ChatNotices(app.runtime.tz).rating_choices(number)]
    assert values == [f"评价 {number} {label}" for label in LEVELS]
    assert "您选择了「不满意」" in await chat.say(values[3])


async def test_several_tags_by_buttons_toggle_then_done(app, clock):
    [(chat, number)] = await resolved_for(app, clock, ["ent-t"])
    await chat.say(f"评价 {number}")
    ask = await tap(chat, "满意")
    assert "可多选" in ask and chat.choice_labels[-2:] == ["完成", "跳过"]
    first, second, third = chat.choice_labels[:3]
    assert f"已选标签：{first}" in await tap(chat, first)
    assert chat.choice_labels[0] == f"✓ {first}"
    await tap(chat, third)
    again = await tap(chat, second)
    assert f"已选标签：{first}、{third}、{second}" in again
    assert f"已选标签：{first}、{second}" in await tap(chat, f"✓ {third}")  # tapped again: taken off
    assert "意见或建议" in await tap(chat, "完成")
    await chat.say("跳过")
    await chat.say("已解决")
    assert (await stored(app, number)).tags == [first, second]


async def test_several_tags_by_typed_numbers(app, clock):
    [(chat, number)] = await resolved_for(app, clock, ["ent-u"])
    await chat.say(f"评价 {number}")
    await chat.say("非常满意")
    tags = chat.choice_labels[:3]
    assert "意见或建议" in await chat.say("1 3")
    await chat.say("跳过")
    await chat.say("已解决")
    assert (await stored(app, number)).tags == [tags[0], tags[2]]


async def test_one_typed_number_is_an_answer_not_a_toggle(app, clock):
    [(chat, number)] = await resolved_for(app, clock, ["ent-v"])
    await chat.say(f"评价 {number}")
    await chat.say("非常满意")
    tag = chat.choice_labels[1]
    assert "意见或建议" in await chat.say("2")
    await chat.say("跳过")
    await chat.say("已解决")
    assert (await stored(app, number)).tags == [tag]


DOUBLED = re.compile(r"([\u4e00-\u9fff]{2,})[：:]\s*\1")


async def test_no_message_or_timeline_line_repeats_its_own_label(app, clock):
    """The enterprise's record once read 差评核实有效：差评核实有效：…; walk both verdicts and read everything."""
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    rounds = await resolved_for(app, clock, ["ent-x", "ent-y"])
    for (chat, number), verdict in zip(rounds, ("有效 已电话联系企业，电压不稳属实", "无效 误评 企业表示点错了"),
                                       strict=True):
        await chat.say(f"评价 {number} 非常不满意")
        await chat.say("跳过")
        await chat.say("跳过")
        await chat.say("未解决")
        await dispatcher.say(f"核实 {number} {verdict}")
        record = await chat.say(f"查询 {number}")
        detail = await dispatcher.say(f"详情 {number}")
        assert "差评核实有效：已电话联系企业" in record + detail or "差评核实无效：（误评）企业表示点错了" in detail
        for text in (record, detail):
            assert not DOUBLED.search(text), DOUBLED.search(text)
    async with app.database.engine.connect() as conn:
        from sqlalchemy import select

        from storage import tables as t
        bodies = [r[0]["text"] for r in (await conn.execute(select(t.outbox.c.body))).all()]
    doubled = [m.group(0) for b in bodies for m in [DOUBLED.search(b)] if m]
    assert doubled == []


async def test_the_invitation_comes_with_the_resolution_notice_in_the_same_turn(app, clock):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    chat = Chat(app, "ent-r")
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    msg = InboundMessage(li.key, f"办结 {number} 已解决 已完成增容", "resolve-1", app.runtime.now())
    ids = await app.pipeline.handle(msg)  # the outbox rows this one turn committed
    async with app.runtime.uow() as uow:
        rows = [await uow.outbox.get(i) for i in ids]
    [notice] = [r for r in rows if r.recipient == "ent-r"]
    assert "已办结" in notice.body["text"] and f"发送「评价 {number}」" in notice.body["text"]
    assert "2026年12月02日 前有效" in notice.body["text"]  # 7 calendar days after 11-25
    assert [c["label"] for c in notice.body["choices"]] == list(LEVELS)
    [told] = [r for r in rows if r.recipient == "staff:li"]
    assert "附上评价邀请" in told.body["text"]
    async with app.runtime.uow() as uow:
        before = len(await uow.outbox.for_recipient("web", "ent-r", 0, 100))
    await run_pass(app.sweeps)  # the sweep sends nothing more: it only reminds, a day later
    async with app.runtime.uow() as uow:
        assert len(await uow.outbox.for_recipient("web", "ent-r", 0, 100)) == before
    assert "基本满意" in await chat.say(notice.body["choices"][2]["value"])
