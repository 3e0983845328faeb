"""The dispatcher's pool shows why a category was suggested, groups one problem raised by several
enterprises, and a category correction is stored as learning data."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.appeal import Action
from bot.services.tagging import pool_examples
from storage import tables as t
from tests.conftest import Chat, bind_staff
from tests.integration.test_concurrency import uscc
from tests.integration.test_filing_dialogue import file_first_appeal

OUTAGE = "园区这周已经停电三次了，每次都没有提前通知，设备损坏严重，请供电部门尽快解决"


async def file(chat: Chat, i: int, text: str) -> str:
    await chat.say(text)
    for answer in (f"示范企业{i:02d}有限公司", uscc(i), "张伟", f"1380013{i:04d}", "经济开发区企业社区", "1"):
        await chat.say(answer)
    done = await chat.say("确认提交")
    return done.split("编号 ")[1].split("。")[0]


async def test_pool_shows_evidence_and_groups_one_problem_of_several_enterprises(app):
    dispatcher = await bind_staff(app, "staff:chen-dispatch", "chen-dispatch")
    first = await file(Chat(app, "ent-a"), 1, OUTAGE)
    second = await file(Chat(app, "ent-b"), 2, "园区这周已经停电三次了，没有提前通知，我们设备损坏严重")
    other = await file(Chat(app, "ent-c"), 3, "去年申报的技改补贴至今没有拨付到账，请帮忙催一下财政")
    view = await dispatcher.say("待分派")
    assert "类别依据：" in view and "停电" in view
    assert "同类问题" in view
    group_line = next(line for line in view.splitlines() if line.startswith("· 2 件"))
    assert first in group_line and second in group_line and other not in group_line


async def test_retag_corrects_category_records_learning_data_and_refuses_others(app, chat):
    dispatcher = await bind_staff(app, "staff:chen-dispatch", "chen-dispatch")
    handler = await bind_staff(app, "staff:li-gdgs", "li-gdgs")
    number = await file_first_appeal(chat)
    assert "请按格式发送：改类" in await dispatcher.say("改类")
    assert "没有「天气」这个类别" in await dispatcher.say(f"改类 {number} 天气")
    assert "已经是「水电气能源」" in await dispatcher.say(f"改类 {number} 水电气能源")
    refused = await handler.say(f"改类 {number} 项目建设")
    assert "调度员" in refused
    reply = await dispatcher.say(f"改类 {number} 项目建设")
    assert "由「水电气能源」更正为「项目建设」" in reply and "建议主办单位" in reply
    async with app.runtime.uow() as uow:
        appeal = await uow.appeals.get(number)
        events = await uow.appeals.events(number)
        examples = await pool_examples(uow)
    assert appeal.category == "项目建设"
    assert events[-1].action == Action.RETAG and events[-1].note == "水电气能源 → 项目建设"
    assert ("项目建设" in [label for _, label in examples])
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(t.tag_corrections.c.old_category, t.tag_corrections.c.new_category,
                                          t.tag_corrections.c.by_staff_id))).all()
    assert [tuple(r) for r in rows] == [("水电气能源", "项目建设", "chen-dispatch")]


async def test_a_difficulty_hint_stands_until_the_dispatcher_settles_it(app, clock):
    from bot.domain.appeal import Difficulty
    from tests.integration.test_handling_dialogue import appeal
    dispatcher = await bind_staff(app, "staff:chen-dispatch", "chen-dispatch")
    tangled = await file(Chat(app, "ent-d"), 4, "厂区排污管道改造涉及多个部门，几个部门相互推诿，一年了没人牵头处理")
    plain = await file(Chat(app, "ent-e"), 5, OUTAGE)
    assert (await appeal(app, tangled)).difficulty == Difficulty.COMPLEX
    assert (await appeal(app, plain)).difficulty == Difficulty.NORMAL
    view = await dispatcher.say("待分派")
    hint = next(line for line in view.splitlines() if "难度建议" in line)
    assert "复杂" in hint and "多个部门" in hint
    assert view.count("难度建议") == 1  # the plain appeal has none
    # Dispatched without 难度 the hint's time limit applies (复杂: 10 working days); 难度 一般 overrides it.
    await dispatcher.say(f"分派 {tangled} 生态环境分局")
    await dispatcher.say(f"分派 {plain} 供电公司 难度 复杂")
    first, second = await appeal(app, tangled), await appeal(app, plain)
    assert first.difficulty == Difficulty.COMPLEX and second.difficulty == Difficulty.COMPLEX
    assert first.due_at == second.due_at  # same day, same limit
