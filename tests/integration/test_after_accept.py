"""A handler's day in buttons: the new task comes with 签收, and 签收 offers 进展 / 办结 / 退回 / 延期,
each of which asks for what it needs (issue 15, item 13)."""

from __future__ import annotations

from bot.domain.appeal import Status
from tests.conftest import Chat
from tests.integration.test_filing_dialogue import file_first_appeal
from tests.integration.test_handling_dialogue import appeal, inbox, staff


async def tap(chat: Chat, label: str) -> str:
    [value] = [c["value"] for c in chat.choices if c["label"] == label]
    return await chat.say(value)


async def latest_choices(app, chat: Chat) -> list[dict]:  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        rows = await uow.outbox.for_recipient(chat.key.channel, chat.key.user_id, 0, 200)
    return rows[-1].body["choices"]


async def test_new_task_then_accept_then_progress_extension_and_resolution_by_buttons(app, chat, clock):
    dispatcher, li, _, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    # The handler is told at once, with the one tap they need.
    assert any("【新交办】" in m and number in m for m in await inbox(app, li))
    assert await latest_choices(app, li) == [{"label": f"签收 {number}", "value": f"签收 {number}"}]

    signed = await li.say(f"签收 {number}")
    assert "已签收诉求" in signed
    assert li.choice_labels == ["填写进展", "办结", "退回", "申请延期"]

    assert f"请写下诉求 {number} 的办理进展" in await tap(li, "填写进展")
    assert "已记录诉求" in await li.say("已到现场勘察，变压器本周到货")
    assert any("本周到货" in m for m in await inbox(app, chat))

    asked = await tap(li, "办结") if li.choices else await li.say(f"办结 {number}")
    assert "请写下诉求" in asked and "已解决、部分解决 或 未解决" in asked
    assert "已办结（部分解决）" in await li.say("部分解决 已增容，线路改造下月完成")
    a = await appeal(app, number)
    assert a.status == Status.RESOLVED and a.outcome == "部分解决"


async def test_extension_by_button_and_a_whole_command_instead_of_the_text(app, chat, clock):
    dispatcher, li, _, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    assert "最多 10 个工作日" in await tap(li, "申请延期")
    assert "延期" in await li.say("5 需等待设备到货")
    assert any("申请延期" in m or "延期" in m for m in await inbox(app, dispatcher))

    await li.say(f"办结 {number}")  # asks for the text…
    reply = await li.say(f"进展 {number} 变压器已吊装")  # …but a whole command is simply run
    assert "已记录诉求" in reply
    assert (await appeal(app, number)).status == Status.IN_PROGRESS


async def test_cancel_while_asked_for_the_text_changes_nothing(app, chat):
    dispatcher, li, _, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    await tap(li, "退回")
    assert "已取消" in await li.say("取消")
    assert (await appeal(app, number)).status == Status.IN_PROGRESS
