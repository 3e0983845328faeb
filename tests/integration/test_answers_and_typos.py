"""Answers checked for what they are, short reports, commands mid-dialogue and typo suggestions (issue 15)."""

from __future__ import annotations

from storage import tables as t
from tests.conftest import conversation_state
from tests.integration.test_filing_dialogue import PROBLEM, USCC, count, file_first_appeal
from tests.integration.test_handling_dialogue import appeal, inbox, staff


async def to_contact_step(chat) -> None:  # type: ignore[no-untyped-def]
    await chat.say(PROBLEM)
    await chat.say("示范精密机械有限公司")
    assert "联系人姓名" in await chat.say(USCC)


async def test_a_question_at_the_name_step_is_not_stored_as_the_name(app, chat):
    await to_contact_step(chat)
    reply = await chat.say("请问你们政务服务中心周六上班吗？")
    assert "全天都可以提交诉求" in reply and "联系人姓名" in reply and "手机号" not in reply
    state = await conversation_state(app, chat.key)
    assert state.step == "filing.contact" and state.data["contact"] == ""
    assert "手机号" in await chat.say("我是张伟")
    assert (await conversation_state(app, chat.key)).data["contact"] == "张伟"


async def test_sentences_and_numbers_are_not_names_and_each_refusal_says_why(app, chat):
    await to_contact_step(chat)
    for typed, why in (("我们公司的负责人姓张，电话等会给你", "像是一句话，不是姓名"),
                       ("13800138000", "是一串数字，不是姓名"),
                       ("张", "只有一个字"),
                       ("好的", "请回答下面的问题")):
        reply = await chat.say(typed)
        assert why in reply and "联系人姓名" in reply, typed
    assert (await conversation_state(app, chat.key)).data["contact"] == ""


async def test_an_unanswerable_question_is_parked_and_reaches_the_staff_with_the_appeal(app, chat):
    await chat.say(PROBLEM)
    reply = await chat.say("你们能帮忙联系一下供电所的王所长吗？")
    assert "已记下" in reply and "企业全称" in reply
    assert "像是一句话" in await chat.say("我们是做机械配件的")
    assert "这是统一社会信用代码" in await chat.say(USCC)
    for answer in ("示范精密机械有限公司", USCC, "张伟", "0571-88886666转123", "溪口镇", "1"):
        await chat.say(answer)
    assert "诉求已登记" in await chat.say("确认提交")
    async with app.runtime.uow() as uow:
        events = await uow.appeals.events("QH20261125-0001")
    assert events[-1].note == "填报时提问：你们能帮忙联系一下供电所的王所长吗？"
    stored = await appeal(app, "QH20261125-0001")
    assert stored.enterprise_name == "示范精密机械有限公司" and stored.contact == "张伟"


async def test_landlines_with_area_code_and_extension_are_accepted(app, chat):
    await to_contact_step(chat)
    await chat.say("张伟")
    assert "不是有效的手机号码" in await chat.say("88886666")  # no area code: which city is it?
    assert "乡镇" in await chat.say("０５７１－８８８８６６６６－１２３")
    assert (await conversation_state(app, chat.key)).data["phone"] == "0571-88886666-123"


async def test_a_short_report_starts_a_filing_and_asks_for_more(app, chat):
    reply = await chat.say("停电了")
    assert "收到：「停电了」" in reply and "请再说详细一些" in reply and "没有听懂" not in reply
    assert (await conversation_state(app, chat.key)).step == "filing.text"
    assert "企业全称" in await chat.say("厂区从今天早上八点开始一直没电，生产线全停了")
    stored = (await conversation_state(app, chat.key)).data["text"]
    assert stored == "停电了。厂区从今天早上八点开始一直没电，生产线全停了"
    for short in ("断网了", "路灯坏了", "被罚款了"):
        await chat.say("取消")
        assert f"收到：「{short}」" in await chat.say(short)
    assert await count(app, t.appeals) == 0


async def test_a_typo_of_a_command_is_suggested_not_filed_and_the_button_runs_it(app, chat):
    number = await file_first_appeal(chat)
    reply = await chat.say(f"查寻 {number}")
    assert "您是不是要：查询？" in reply and "新问题" not in reply
    assert chat.choices == [{"label": f"查询 {number}", "value": f"查询 {number}"}]
    assert number in await chat.say(chat.choices[0]["value"])
    assert "您是不是要：查询？" in await chat.say(f"chaxun{number}")
    assert await count(app, t.appeals) == 1


async def test_a_command_mid_filing_runs_and_the_filing_goes_on(app, chat):
    number = await file_first_appeal(chat)
    await chat.say("我要反映")
    reply = await chat.say(f"查询 {number}")
    assert number in reply and "填报诉求还在" in reply and "请描述您遇到的问题" in reply
    assert (await conversation_state(app, chat.key)).step == "filing.text"
    # A typo mid-step is suggested too, and the step is not touched.
    assert "您是不是要：查询？" in await chat.say(f"查寻{number}")
    assert (await conversation_state(app, chat.key)).step == "filing.text"


async def test_a_command_that_starts_its_own_dialogue_sets_the_pending_one_aside(app, chat):
    number = await file_first_appeal(chat)
    await chat.say("我要反映")
    reply = await chat.say(f"撤回 {number}")
    assert reply.startswith("您刚才进行的填报诉求已放下") and "确定要撤回" in reply
    assert (await conversation_state(app, chat.key)).step == "withdraw.confirm"


async def test_staff_typos_get_a_suggestion_for_their_own_commands(app, chat):
    dispatcher, li, _, wang = await staff(app)
    number = await file_first_appeal(chat)
    reply = await dispatcher.say(f"分排 {number} 供电")
    assert "您是不是要：分派？" in reply and "没有听懂" not in reply
    assert dispatcher.choices[0]["value"] == f"分派 {number} 供电"
    assert "交由国网示范县供电公司" in await dispatcher.say(dispatcher.choices[0]["value"])
    assert "您是不是要：签收？" in await li.say(f"前收 {number}")
    assert "您是不是要：督办？" in await wang.say(f"督半 {number} 请加快")
    # An enterprise is never offered a staff command.
    assert "分派" not in await chat.say("分排")


async def test_people_see_names_never_ids_or_seeds(app, chat):
    dispatcher, li, _, wang = await staff(app)
    help_text = await dispatcher.say("帮助")
    assert "调度员（陈晓，县企业综合服务中心）" in help_text and "centre" not in help_text
    assert "承办人（李工，国网示范县供电公司）" in await li.say("帮助")
    assert "gdgs" not in await li.say("你好")
    assert "wang-leader" not in await wang.say("帮助")
    await file_first_appeal(chat)
    callbacks = await dispatcher.say("回访")
    assert "种子" not in callbacks and "seed" not in callbacks


async def test_when_the_date_changes_the_enterprise_is_told_both_dates_and_why(app, chat, clock):
    dispatcher, li, *_ = await staff(app)
    number = await file_first_appeal(chat)
    assert "2026年12月04日" in await chat.say(f"查询 {number}")  # promised at submission
    await dispatcher.say(f"分派 {number} 供电")
    told = (await inbox(app, chat))[-1]
    assert "办理期限 2026年12月02日" in told
    assert "此前告知您 2026年12月04日，现为 2026年12月02日" in told
    assert "按一般求助诉求、县级单位办理，时限 5 个工作日，自 2026年11月25日 交办起算" in told
    await li.say(f"签收 {number}")
    await li.say(f"延期 {number} 3 变压器需厂家调货")
    await dispatcher.say(f"批准延期 {number}")
    told = (await inbox(app, chat))[-1]
    assert "因「变压器需厂家调货」延期 3 个工作日，办理期限由 2026年12月02日 改为 2026年12月07日" in told


async def test_a_time_limit_set_by_the_dispatcher_is_given_as_the_reason(app, chat):
    dispatcher, *_ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电 时限 10")
    told = (await inbox(app, chat))[-1]
    assert "此前告知您 2026年12月04日，现为 2026年12月09日" in told and "服务中心核定办理时限 10 个工作日" in told


async def test_a_difficulty_set_at_dispatch_is_given_as_the_reason(app, chat):
    dispatcher, *_ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电 难度 复杂")
    told = (await inbox(app, chat))[-1]
    assert "此前告知您 2026年12月04日" in told and "按复杂求助诉求、县级单位办理" in told
