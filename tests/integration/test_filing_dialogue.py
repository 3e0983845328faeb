"""Filing conversations: what the enterprise says, what the bot answers, what is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.domain.appeal import Action, Status
from storage import tables as t
from tests.conftest import SHANGHAI, Chat, bind_staff, conversation_state, start_app

PROBLEM = "我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复，影响投产"
USCC = "91330825MA2DH4KX39"


async def count(app, table) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def file_first_appeal(chat: Chat) -> str:
    assert "企业全称" in await chat.say(PROBLEM)
    assert "统一社会信用代码" in await chat.say("示范精密机械有限公司")
    assert "联系人姓名" in await chat.say(USCC)
    assert "手机号" in await chat.say("张伟")
    assert "乡镇" in await chat.say("138 0013 8000")
    assert "建议归入" in await chat.say("溪口镇")
    assert chat.choice_labels[0].startswith("水电气能源")
    summary = await chat.say("1")
    assert "请确认" in summary and "溪口镇" in summary and "13800138000" in summary
    done = await chat.say("确认提交")
    assert "诉求已登记" in done
    return done.split("编号 ")[1].split("。")[0]


async def test_first_filing_lands_in_pool_with_number_deadline_and_event(app, chat):
    number = await file_first_appeal(chat)
    assert number == "QH20261125-0001"
    async with app.runtime.uow() as uow:
        appeal = await uow.appeals.get(number)
        events = await uow.appeals.events(number)
    assert appeal.status == Status.SUBMITTED
    assert appeal.categories == ["水电气能源"]
    assert "变压器" in appeal.tag_evidence["水电气能源"]
    assert appeal.uscc == USCC and appeal.phone == "13800138000" and appeal.area_id == "xikou"
    # 1 dispatch + 1 sign-off + 5 handling working days from Wed 2026-11-25 → Fri 2026-12-04.
    assert appeal.promised_at.astimezone(SHANGHAI).date() == datetime(2026, 12, 4).date()
    assert [(e.action, e.to_status) for e in events] == [(Action.SUBMIT, Status.SUBMITTED)]
    assert events[0].actor.kind == "enterprise"


async def test_second_filing_reuses_the_profile(app, chat):
    await file_first_appeal(chat)
    reply = await chat.say("我要反映")
    assert "已为您带入企业信息：示范精密机械有限公司" in reply and "138****8000" in reply
    assert "请描述您遇到的问题" in reply
    reply = await chat.say("去年申报的技改补贴至今没有拨付到账，请帮忙催一下")
    assert "建议归入" in reply and chat.choice_labels[0].startswith("政策兑现")
    await chat.say("1")
    done = await chat.say("1")
    assert "QH20261125-0002" in done
    assert await count(app, t.enterprises) == 1


async def test_free_text_with_an_open_appeal_is_asked_about_not_guessed(app, chat):
    number = await file_first_appeal(chat)
    reply = await chat.say("变压器的事情供电所今天来人看过了，说要等下个月")
    assert "新问题，还是对已有诉求的补充" in reply
    assert chat.choice_labels[1].startswith(f"补充到 {number}")
    assert "已将补充内容记入诉求" in await chat.say("2")
    async with app.runtime.uow() as uow:
        events = await uow.appeals.events(number)
    assert events[-1].action == Action.SUPPLEMENT and "下个月" in events[-1].note


async def test_back_cancel_and_help_work_at_every_step(app, chat):
    await chat.say(PROBLEM)
    await chat.say("示范精密机械有限公司")
    reply = await chat.say("返回")
    assert "企业全称" in reply
    assert "统一社会信用代码" in await chat.say("示范精密机械股份有限公司")
    reply = await chat.say("帮助")
    assert "企业诉求服务" in reply and "统一社会信用代码" in reply
    assert "已取消" in await chat.say("取消")
    assert await count(app, t.appeals) == 0
    assert "当前没有进行中的操作" in await chat.say("取消")


async def test_bad_input_gets_a_clear_message_and_stores_nothing(app, chat):
    await chat.say("我要反映")
    assert "太短" in await chat.say("停电了")
    assert "太长" in await chat.say("停电" * 1500)
    await chat.say(PROBLEM)
    await chat.say("示范精密机械有限公司")
    assert "应为 18 位" in await chat.say("9133082")
    assert "第 18 位校验码「T」" in await chat.say("91330825MA2DH4KX3T")
    assert "第 9 位「O」不是有效字符" in await chat.say("91330825OA2DH4KX39")
    await chat.say(USCC)
    assert "不能含数字" in await chat.say("张伟123")
    await chat.say("张伟")
    assert "不是有效的手机号码" in await chat.say("12345")
    await chat.say("13800138000")
    assert "没有找到这个乡镇" in await chat.say("火星镇")
    assert "没有第 9 项" in await chat.say("9")
    assert await count(app, t.appeals) == 0
    assert await count(app, t.enterprises) == 0


async def test_unknown_command_explains_and_shows_help(chat):
    reply = await chat.say("哈哈哈")
    assert "没有听懂「哈哈哈」" in reply and "我要反映" in reply


async def test_a_greeting_gets_a_welcome_and_what_can_be_done_here(chat):
    for greeting in ("你好", "您好！", "在吗?", "Hello"):
        reply = await chat.say(greeting)
        assert reply.startswith("您好！这里是企呼") and "我要反映" in reply and "没有听懂" not in reply


async def test_edit_from_the_summary(chat):
    await chat.say(PROBLEM)
    for answer in ("示范精密机械有限公司", USCC, "张伟", "13800138000", "溪口镇", "1"):
        await chat.say(answer)
    assert "请选择要修改的内容" in await chat.say("修改内容")
    assert "手机号" in await chat.say("手机号")
    summary = await chat.say("13900139000")
    assert "请确认" in summary and "13900139000" in summary
    await chat.say("修改内容")
    await chat.say("诉求类型")
    assert "类型：咨询" in await chat.say("咨询")


async def test_stale_dialogue_expires_politely(app, chat, clock):
    await chat.say(PROBLEM)
    clock.advance(minutes=61)
    reply = await chat.say("示范精密机械有限公司")
    assert "超过 60 分钟未完成，已自动取消" in reply
    state = await conversation_state(app, chat.key)
    assert state.step == "idle"


async def test_restart_mid_dialogue_continues_where_it_was(settings, clock, app, chat):
    await chat.say(PROBLEM)
    await chat.say("示范精密机械有限公司")
    await app.close()
    restarted = await start_app(settings, clock)
    try:
        again = Chat(restarted, chat.key.user_id)
        assert "联系人姓名" in await again.say(USCC)
    finally:
        await restarted.close()


async def test_query_shows_own_appeals_and_timeline_but_not_others(app, chat):
    number = await file_first_appeal(chat)
    listing = await chat.say("查询")
    assert number in listing and "待受理" in listing
    detail = await chat.say(f"查询 {number}")
    assert "办理记录" in detail and "提交诉求" in detail and PROBLEM[:10] in detail
    stranger = Chat(app, "ent-2")
    assert "不是您本人提交的" in await stranger.say(f"查询 {number}")
    assert "没有找到编号为 QH20261125-0099" in await stranger.say("查询 QH20261125-0099")
    assert "不是您本人提交的" in await stranger.say(f"撤回 {number}")


async def test_withdraw_asks_then_withdraws_and_tells_the_dispatcher(app, chat):
    dispatcher = await bind_staff(app, "staff:chen-dispatch", "chen-dispatch")
    number = await file_first_appeal(chat)
    assert "确定要撤回诉求" in await chat.say(f"撤回 {number} 已自行解决")
    assert "已撤回" in await chat.say("确认撤回")
    async with app.runtime.uow() as uow:
        appeal = await uow.appeals.get(number)
        rows = await uow.outbox.for_recipient("web", dispatcher.key.user_id, 0, 10)
    assert appeal.status == Status.WITHDRAWN
    assert ["新诉求" in r.body["text"] for r in rows] == [True, False]
    assert "已自行解决" in rows[1].body["text"]
    refused = await chat.say(f"撤回 {number}")
    assert "当前状态为「已撤回」，不能撤回" in refused


async def test_duplicate_message_id_is_processed_once(app, chat):
    await chat.say(PROBLEM, message_id="m-1")
    assert await chat.say(PROBLEM, message_id="m-1") == ""
    state = await conversation_state(app, chat.key)
    assert state.step == "filing.company"


async def test_staff_command_roles_are_enforced(app):
    leader = await bind_staff(app, "staff:wang-leader", "wang-leader")
    assert "不是领导可用的命令" in await leader.say("撤回 QH20261125-0001")
    assert "工作人员" in await leader.say("帮助")


async def test_logs_carry_appeal_numbers_but_not_what_people_wrote(app, chat, caplog):
    caplog.set_level("INFO", logger="bot.pipeline")
    number = await file_first_appeal(chat)
    await chat.say(f"补充 {number} 电话改为 13912345678 请联系")
    logs = caplog.text
    assert number in logs
    assert "13800138000" not in logs and "138 0013 8000" not in logs and "1391234" not in logs
    assert "电话改为" not in logs and "示范精密机械" not in logs  # [logging] log_message_text = false
