"""A first day with the bot (issue 15, first-time-user pass): buttons instead of a usage error, the
service phone where a person is stuck, day counts as people write them."""

from __future__ import annotations

import pytest

from handlers.handling_common import parse_days
from tests.conftest import Chat, bind_staff, start_app
from tests.integration.test_filing_dialogue import file_first_appeal


@pytest.mark.parametrize(("written", "days", "rest"), [
    ("5 等设备", 5, "等设备"), ("５天 等设备", 5, "等设备"), ("五天 等设备", 5, "等设备"), ("十天", 10, ""),
    ("十五个工作日 审批", 15, "审批"), ("一周 等设备到货", 5, "等设备到货"), ("两周", 10, ""), ("2个星期", 10, ""),
    ("二十天", 20, ""),
])
def test_day_counts_as_people_write_them(written, days, rest):
    assert parse_days(written) == (days, rest)


@pytest.mark.parametrize("written", ["几天 等设备", "等设备到货", "0 天", "十十天", ""])
def test_what_is_no_day_count(written):
    assert parse_days(written) is None


async def test_the_buttons_send_the_whole_command_with_what_was_written(app):
    number = await file_first_appeal(Chat(app, "ent-1"))
    dispatcher = await bind_staff(app, "disp-1", "chen-dispatch")
    assert "请选择要「分派」的诉求" in await dispatcher.say("分派 供电公司 时限 五天")
    [choice] = dispatcher.choices
    assert choice["label"].startswith(number) and "示范精密机械有限公司" in choice["label"]
    assert choice["value"] == f"分派 {number} 供电公司 时限 五天"
    assert "（5 个工作日）" in await dispatcher.say(choice["value"])

    handler = await bind_staff(app, "li-1", "li-gdgs")
    await handler.say("签收")
    assert [c["value"] for c in handler.choices] == [f"签收 {number}"]
    await handler.say(f"签收 {number}")
    assert "请按格式发送" in await handler.say("延期 QH2026 5 等设备到货")  # a number mistyped: the form
    await handler.say("延期 5 等设备到货")
    assert [c["value"] for c in handler.choices] == [f"延期 {number} 5 等设备到货"]
    await handler.say("延期 一周 等设备到货")
    assert [c["value"] for c in handler.choices] == [f"延期 {number} 一周 等设备到货"]
    assert "延期 5 个工作日" in await handler.say(handler.choices[0]["value"])
    assert "请选择要「批准延期」的诉求" in await dispatcher.say("批准延期")
    assert dispatcher.choices[0]["label"] == f"{number} 申请延期 5 个工作日"


async def test_the_service_phone_is_in_help_and_where_a_person_cannot_go_on(settings, clock):
    phone = "0570-1234567"
    app = await start_app(settings.model_copy(update={"appeals": settings.appeals.model_copy(
        update={"service_phone": phone})}), clock)
    try:
        enterprise = Chat(app, "ent-1")
        assert f"需要人工帮助请拨打服务电话 {phone}" in await enterprise.say("帮助")
        assert f"拨打服务电话 {phone}" in await enterprise.say("人工客服")
        refused = await enterprise.say("分派 QH20261125-0001 供电公司")
        assert "调度员" in refused and f"如需帮助，请拨打服务电话 {phone}" in refused
        typo = await enterprise.say("查询 QH20261125-0099")
        assert "没有找到" in typo and phone not in typo  # how to type it right is the help here
        handler = await bind_staff(app, "li-1", "li-gdgs")
        assert phone in await handler.say("帮助")
    finally:
        await app.close()
