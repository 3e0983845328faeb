"""Dispatch and handling conversations: dispatcher, handlers, leader and the enterprise told at each step."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.domain.appeal import Action, Level, Status
from storage import tables as t
from tests.conftest import SHANGHAI, Chat, bind_staff
from tests.integration.test_filing_dialogue import count, file_first_appeal

NUMBER = "QH20261125-0001"


async def staff(app):  # type: ignore[no-untyped-def]
    return (await bind_staff(app, "staff:chen", "chen-dispatch"), await bind_staff(app, "staff:li", "li-gdgs"),
            await bind_staff(app, "staff:zhao", "zhao-jxj"), await bind_staff(app, "staff:wang", "wang-leader"))


async def inbox(app, chat: Chat) -> list[str]:  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        rows = await uow.outbox.for_recipient(chat.key.channel, chat.key.user_id, 0, 200)
    return [r.body["text"] for r in rows]


async def appeal(app, number: str = NUMBER):  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        return await uow.appeals.get(number)


async def test_full_loop_enterprise_told_at_each_step(app, chat, clock):
    dispatcher, li, zhao, _ = await staff(app)
    number = await file_first_appeal(chat)
    pool = await dispatcher.say("待分派")
    assert number in pool and "建议：国网示范县供电公司" in pool
    reply = await dispatcher.say(f"分派 {number} 供电 协办 经信局")
    assert "交由国网示范县供电公司主办，协办：县经济和信息化局" in reply and "5 个工作日" in reply
    # Wed 2026-11-25 + 5 working days → Wed 2026-12-02.
    assert "2026年12月02日" in reply
    assert any("已交由国网示范县供电公司办理" in m and "2026年12月02日" in m for m in await inbox(app, chat))
    assert any("【新交办】" in m and "签收期限" in m for m in await inbox(app, li))
    assert any("【协办】" in m for m in await inbox(app, zhao))

    assert number in await li.say("待办")
    assert "已签收诉求" in await li.say(f"签收{number}")  # the glued form works too
    a = await appeal(app)
    assert a.status == Status.IN_PROGRESS and a.handler_staff_id == "li-gdgs"
    assert any("已由国网示范县供电公司签收" in m for m in await inbox(app, chat))

    clock.advance(hours=5)
    assert "并告知企业" in await li.say(f"进展 {number} 已派员现场勘察，变压器型号已确定")
    assert any("有新进展" in m and "现场勘察" in m for m in await inbox(app, chat))
    assert "协办任务" in await zhao.say(f"签收 {number}")
    assert "报送主办单位" in await zhao.say(f"办结 {number} 已协调生产线技改备案，无障碍")
    assert any("【协办反馈】" in m for m in await inbox(app, li))

    clock.advance(days=1)
    done = await li.say(f"办结 {number} 已解决 已完成增容，变压器已送电")
    assert "已办结（已解决）" in done
    a = await appeal(app)
    assert a.status == Status.RESOLVED and a.outcome == "已解决" and "送电" in a.resolution
    assert any("已办结（已解决）" in m and "已完成增容" in m for m in await inbox(app, chat))
    detail = await dispatcher.say(f"详情 {number}")
    assert "交办国网示范县供电公司" in detail and "各单位办理用时" in detail
    assert "国网示范县供电公司（主办）" in detail and "已办结，按时" in detail
    assert "县经济和信息化局（协办）" in detail and "已反馈" in detail
    assert "138****8000" in detail  # only the assigned handler sees the whole number


async def test_dispatch_confirms_suggestion_and_asks_back_when_ambiguous(app, chat):
    dispatcher, *_ = await staff(app)
    number = await file_first_appeal(chat)
    ask = await dispatcher.say(f"分派 {number} 经济")
    assert "可能指以下单位" in ask
    assert dispatcher.choice_labels == ["县经济和信息化局", "经济开发区企业社区"]
    assert (await appeal(app)).status == Status.SUBMITTED
    assert "经济开发区企业社区主办" in await dispatcher.say("2")
    a = await appeal(app)
    assert a.lead_unit_id == "kfq" and a.level == Level.TOWNSHIP


async def test_dispatch_by_suggestion_with_deadline_and_refusals(app, chat):
    dispatcher, li, *_ = await staff(app)
    number = await file_first_appeal(chat)
    assert "没有找到单位「火星局」" in await dispatcher.say(f"分派 {number} 火星局")
    assert "请按格式发送" in await dispatcher.say("分派 QH 供电")
    assert "时限应为" in await dispatcher.say(f"分派 {number} 供电 时限 99")
    assert "只有县企业综合服务中心的调度员" in await li.say(f"分派 {number} 供电")
    assert "只有县企业综合服务中心的调度员" in await chat.say(f"分派 {number} 供电")
    assert (await appeal(app)).status == Status.SUBMITTED
    reply = await dispatcher.say(f"分派 {number} 时限 10")
    assert "国网示范县供电公司主办" in reply and "10 个工作日" in reply
    assert "当前状态为「已交办」，不能交办" in await dispatcher.say(f"分派 {number} 供电")


async def test_return_within_signoff_window_then_transfer(app, chat, clock):
    dispatcher, li, zhao, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 经信局")
    assert "目前不在贵单位办理" in await li.say(f"退回 {number} 不归我们管")
    assert f"请写明退回诉求 {number} 的理由" in await zhao.say(f"退回 {number}")  # what the button sends
    assert "服务中心将重新分派" in await zhao.say(f"退回 {number} 变压器增容属供电公司职责")
    assert any("【退回】" in m and "供电公司职责" in m for m in await inbox(app, dispatcher))
    a = await appeal(app)
    assert a.status == Status.SUBMITTED and a.lead_unit_id is None
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    clock.advance(days=2)
    assert "已超过退回时限" in await li.say(f"退回 {number} 其实不是我们的")
    reply = await dispatcher.say(f"转办 {number} 经信局 需经信部门牵头")
    assert "从国网示范县供电公司转至县经济和信息化局主办" in reply
    assert any("【转办】" in m for m in await inbox(app, li))
    assert any("已改由县经济和信息化局办理" in m for m in await inbox(app, chat))
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(t.appeal_holdings.c.unit_id, t.appeal_holdings.c.end_reason)
                                   .order_by(t.appeal_holdings.c.id))).all()
    assert [tuple(r) for r in rows] == [("jxj", "returned"), ("gdgs", "transferred"), ("jxj", None)]
    detail = await dispatcher.say(f"详情 {number}")
    assert "退回" in detail and "转办" in detail


async def test_extension_requested_approved_once_and_refused(app, chat, clock):
    dispatcher, li, _, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    assert "延期天数应为 1–10" in await li.say(f"延期 {number} 11 等设备")
    assert "请按格式发送：延期" in await li.say(f"延期 {number} 很久")
    assert "等待服务中心审批" in await li.say(f"延期 {number} 5 变压器需厂家排产")
    assert "已有一个延期申请" in await li.say(f"延期 {number} 3 再等等")
    assert any("【延期申请】" in m for m in await inbox(app, dispatcher))
    assert "只有县企业综合服务中心的调度员" in await li.say(f"批准延期 {number}")
    reply = await dispatcher.say(f"批准延期 {number}")
    # 2026-12-02 + 5 working days → 2026-12-09.
    assert "新期限 2026年12月09日" in reply
    assert (await appeal(app)).due_at.astimezone(SHANGHAI).date() == date(2026, 12, 9)
    assert any("延期 5 个工作日" in m and "2026年12月09日" in m for m in await inbox(app, chat))
    assert "没有待审批的延期申请" in await dispatcher.say(f"批准延期 {number}")
    assert "最多延期一次" in await li.say(f"延期 {number} 2 还要等")


async def test_extension_refused_and_after_deadline(app, chat, clock):
    dispatcher, li, _, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    await li.say(f"延期 {number} 3 需协调线路")
    assert "驳回延期须说明理由" in await dispatcher.say(f"驳回延期 {number}")
    assert "已驳回" in await dispatcher.say(f"驳回延期 {number} 增容属常规业务，应按期办结")
    assert any("延期未获批准" in m for m in await inbox(app, chat))
    assert any("【延期未批准】" in m for m in await inbox(app, li))
    clock.advance(days=10)
    assert "已超过办理期限" in await li.say(f"延期 {number} 3 再申请")


async def test_escalation_goes_through_the_centre(app, chat, clock):
    dispatcher, li, _, _ = await staff(app)
    qian = await bind_staff(app, "staff:qian", "qian-city")
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    before = (await appeal(app)).due_at

    # The handler asks; the centre decides. Until then the unit keeps the appeal and its deadline.
    asked = await li.say(f"提级 {number} 涉及跨县电网规划，需市级协调")
    assert "已提交县企业综合服务中心审核" in asked and "继续办理" in asked
    request = [m for m in await inbox(app, dispatcher) if "【提级申请】" in m]
    assert len(request) == 1 and "涉及跨县电网规划" in request[0] and f"提级 同意 {number}" in request[0]
    a = await appeal(app)
    assert a.level != Level.CITY and a.lead_unit_id == "gdgs" and a.due_at == before
    assert not any("市级专班" in m for m in await inbox(app, chat))  # the enterprise is not told of a request
    assert "等待服务中心审核" in await li.say(f"提级 {number} 再催一下")
    pool = await dispatcher.say("待分派")
    assert "待审核提级申请（1 件" in pool and "国网示范县供电公司 申请提级市级专班：涉及跨县电网规划" in pool
    assert "并告知企业" in await li.say(f"进展 {number} 正在与市电力公司沟通")

    # Declined: the handler carries on, told why, deadline unchanged.
    assert "须说明理由" in await dispatcher.say(f"提级 驳回 {number}")
    assert "已驳回" in await dispatcher.say(f"提级 驳回 {number} 县内可协调变电站间隔")
    told = [m for m in await inbox(app, li) if "【提级驳回】" in m]
    assert len(told) == 1 and "县内可协调变电站间隔" in told[0] and "继续办理" in told[0]
    assert (await appeal(app)).lead_unit_id == "gdgs"
    assert "没有待审核的提级申请" in await dispatcher.say(f"提级 同意 {number}")
    assert "待审核提级申请" not in await dispatcher.say("待分派")

    # Asked again and approved: 市级专班 leads with 20 working days from the approval.
    await li.say(f"提级 {number} 变电站间隔需市里统筹")
    clock.advance(days=1)  # Thu 2026-11-26
    done = await dispatcher.say(f"提级 同意 {number}")
    assert "已提级至市级专班" in done and "国网示范县供电公司" in done
    a = await appeal(app)
    assert a.status == Status.DISPATCHED and a.level == Level.CITY and a.lead_unit_id == "city"
    # 20 working days from Thu 2026-11-26 → Thu 2026-12-24.
    assert a.due_at.astimezone(SHANGHAI).date() == date(2026, 12, 24)
    assert any("已提级至市级专班办理" in m for m in await inbox(app, chat))
    assert any("【新交办】" in m for m in await inbox(app, qian))
    assert any("【提级】" in m and "不再主办" in m for m in await inbox(app, li))
    assert "目前不在贵单位办理" in await li.say(f"进展 {number} 还在跟")
    async with app.runtime.uow() as uow:
        events = [e.action for e in await uow.appeals.events(number)]
        spells = await uow.handling.holdings(a.id)
    assert events[-5:] == [Action.ESCALATE_REQUEST, Action.PROGRESS, Action.ESCALATE_DECLINE,
                           Action.ESCALATE_REQUEST, Action.ESCALATE]
    # The unit's spell ends at the approval as "escalated" (not counted against it); the task force's starts.
    assert [(h.unit_id, h.end_reason) for h in spells if h.role == "lead"] == [("gdgs", "escalated"), ("city", None)]
    timeline = await dispatcher.say(f"详情 {number}")
    assert "申请提级" in timeline and "驳回提级申请" in timeline and "提级至市级专班" in timeline
    assert "已签收诉求" in await qian.say(f"签收 {number}")


async def test_centre_escalates_directly(app, chat):
    dispatcher, li, _, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    assert "须说明理由" in await dispatcher.say(f"提级 {number}")
    done = await dispatcher.say(f"提级 {number} 省市重点项目配套电网，需市级统筹")
    assert "已提级至市级专班" in done
    a = await appeal(app)
    assert a.level == Level.CITY and a.lead_unit_id == "city"
    # 20 working days from Wed 2026-11-25 → Wed 2026-12-23.
    assert a.due_at.astimezone(SHANGHAI).date() == date(2026, 12, 23)
    assert any("【提级】" in m and "省市重点项目" in m for m in await inbox(app, li))
    assert "已在市级专班办理" in await dispatcher.say(f"提级 {number} 再提一次")
    assert "只有县企业综合服务中心的调度员" in await li.say(f"提级 同意 {number}")


async def test_a_request_left_behind_by_a_transfer_cannot_be_approved(app, chat):
    dispatcher, li, zhao, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"提级 {number} 需市级协调")
    await dispatcher.say(f"转办 {number} 经信局 属于技改项目")
    assert "已不由申请提级的单位主办" in await dispatcher.say(f"提级 同意 {number}")
    assert (await appeal(app)).lead_unit_id == "jxj"
    assert "待审核提级申请" not in await dispatcher.say("待分派")
    # The new lead unit may ask for itself; that request is the one the centre decides.
    assert "服务中心审核" in await zhao.say(f"提级 {number} 技改项目需市级统筹")
    assert "县经济和信息化局" in await dispatcher.say(f"提级 同意 {number}")
    assert (await appeal(app)).lead_unit_id == "city"


async def test_reject_merge_and_urge(app, chat):
    dispatcher, li, _, leader = await staff(app)
    first = await file_first_appeal(chat)
    await chat.say("我要反映")
    await chat.say("去年申报的技改补贴至今没有拨付到账，请帮忙催一下")
    await chat.say("1")
    await chat.say("1")
    second = "QH20261125-0002"
    assert "须说明理由" in await dispatcher.say(f"不予受理 {second}")
    assert "请按格式发送：合并" in await dispatcher.say(f"合并 {second}")
    assert "不能把诉求" in await dispatcher.say(f"合并 {second} 到 {second}")
    assert f"已将诉求 {second} 并入 {first}" in await dispatcher.say(f"合并 {second} 到 {first}")
    assert (await appeal(app, second)).status == Status.REJECTED
    assert any("合并办理" in m for m in await inbox(app, chat))
    assert "当前状态为「不予受理」" in await dispatcher.say(f"不予受理 {second} 重复")
    assert "督办只能由领导进行" in await dispatcher.say(f"督办 {first} 抓紧")
    await dispatcher.say(f"分派 {first} 供电公司")
    assert "已对诉求" in await leader.say(f"督办 {first} 请本周内给企业明确答复")
    assert any("【督办】" in m and "本周内" in m for m in await inbox(app, li))
    async with app.runtime.uow() as uow:
        events = await uow.appeals.events(first)
    assert [e.action for e in events][-1] == Action.URGE


async def test_reject_tells_the_enterprise(app, chat):
    dispatcher, *_ = await staff(app)
    number = await file_first_appeal(chat)
    assert "已不予受理" in await dispatcher.say(f"不予受理 {number} 属于民事纠纷，请通过诉讼途径解决")
    assert any("不予受理。原因：属于民事纠纷" in m for m in await inbox(app, chat))


async def test_enterprise_and_strangers_cannot_see_or_act(app, chat):
    dispatcher, li, zhao, _ = await staff(app)
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    assert "目前不在贵单位办理" in await zhao.say(f"详情 {number}")
    assert "不是您本人提交的" in await Chat(app, "ent-2").say(f"详情 {number}")
    assert "只有承办单位的承办人" in await chat.say(f"签收 {number}")
    assert "只有承办单位的承办人" in await chat.say("待办")
    assert "13800138000" in await li.say(f"详情 {number}")


async def test_entry_of_a_hotline_appeal(app):
    dispatcher, *_ = await staff(app)
    assert "请选择来源渠道" in await dispatcher.say("录入")
    assert "企业全称" in await dispatcher.say("12345-8 热线")
    assert "信用代码" in await dispatcher.say("示范精密机械有限公司")
    assert "第 18 位校验码" in await dispatcher.say("91330825MA2DH4KX3T")
    await dispatcher.say("91330825MA2DH4KX39")
    await dispatcher.say("张伟")
    await dispatcher.say("13800138000")
    assert "诉求内容" in await dispatcher.say("溪口")
    assert "问题类别" in await dispatcher.say("厂区门口道路塌陷一个月了，货车无法进出，请尽快修复")
    await dispatcher.say("基础设施")
    summary = await dispatcher.say("求助")
    assert "请确认录入" in summary and "12345-8 热线" in summary
    done = await dispatcher.say("确认提交")
    assert "已录入诉求 QH20261125-0001（来源：12345-8 热线）" in done
    a = await appeal(app)
    assert a.source.value == "hotline" and a.filer_channel is None and a.area_id == "xikou"


async def test_entry_refused_for_non_dispatchers(app, chat):
    _, li, _, leader = await staff(app)
    assert "只有县企业综合服务中心的调度员" in await li.say("录入")
    assert "只有县企业综合服务中心的调度员" in await leader.say("录入")
    assert await count(app, t.appeals) == 0


async def test_auto_dispatch_for_configured_category(settings, clock):
    from tests.conftest import start_app
    auto = settings.model_copy(update={"dispatch": settings.dispatch.model_copy(
        update={"auto_categories": ["水电气能源"]})})
    app = await start_app(auto, clock)
    try:
        li = await bind_staff(app, "staff:li", "li-gdgs")
        ent = Chat(app, "ent-1")
        number = await file_first_appeal(ent)
        a = await appeal(app, number)
        assert a.status == Status.DISPATCHED and a.lead_unit_id == "gdgs"
        assert any("【新交办】" in m for m in await inbox(app, li))
        assert any("已交由国网示范县供电公司办理" in m for m in await inbox(app, ent))
    finally:
        await app.close()


async def test_deadline_into_2027_shows_the_missing_holiday_data_mark(app, chat, clock):
    dispatcher, li, _, _ = await staff(app)
    clock.at = clock.at.replace(month=12, day=21)
    number = await file_first_appeal(chat)
    reply = await dispatcher.say(f"分派 {number} 供电公司 时限 10")
    assert "2027年01月04日" in reply and "节假日数据缺失" in reply
    assert "节假日数据缺失" in await li.say("待办")
    assert any("节假日数据缺失" in m for m in await inbox(app, chat))
