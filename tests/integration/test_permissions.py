"""Every role × every staff command: allowed, or refused with a reason and nothing changed."""

from __future__ import annotations

import pytest

from tests.conftest import Chat, bind_staff
from tests.integration.test_filing_dialogue import file_first_appeal

N = "QH20261125-0001"
CENTRE_ONLY = "只有县企业综合服务中心的调度员"
# command → (roles allowed, what an allowed attempt answers, what a refusal says)
TABLE = {
    "待办": ({"handler"}, "待办", "只有承办单位的承办人"),
    f"签收 {N}": ({"handler"}, "已签收", "只有承办单位的承办人"),
    f"进展 {N} 正在现场核实": ({"handler"}, "尚未签收", "只有承办单位的承办人"),
    f"退回 {N} 非本单位职责": ({"handler"}, "已退回", "只有承办单位的承办人"),
    f"延期 {N} 3 需要等待材料": ({"handler"}, "延期", "只有承办单位的承办人"),
    f"办结 {N} 已解决 已处理完毕": ({"handler"}, "尚未签收", "只有承办单位的承办人"),
    # A handler asks the centre; a dispatcher escalates directly (规范 7.1).
    f"提级 {N} 需要市级协调": ({"handler", "dispatcher"}, "提级", "只有承办单位的承办人"),
    f"提级 同意 {N}": ({"dispatcher"}, "没有待审核的提级申请", CENTRE_ONLY),
    f"提级 驳回 {N} 县内可解决": ({"dispatcher"}, "没有待审核的提级申请", CENTRE_ONLY),
    "待分派": ({"dispatcher"}, "问题池中没有待分派", CENTRE_ONLY),
    f"分派 {N} 供电公司": ({"dispatcher"}, "当前状态为「已交办」", CENTRE_ONLY),
    f"批准延期 {N}": ({"dispatcher"}, "没有待审批的延期申请", CENTRE_ONLY),
    f"驳回延期 {N} 不同意": ({"dispatcher"}, "没有待审批的延期申请", CENTRE_ONLY),
    f"不予受理 {N} 重复诉求": ({"dispatcher"}, "当前状态为「已交办」", CENTRE_ONLY),
    f"合并 {N} 到 QH20261125-0009": ({"dispatcher"}, "没有找到编号为 QH20261125-0009", CENTRE_ONLY),
    f"转办 {N} 经信局": ({"dispatcher"}, "转至县经济和信息化局", CENTRE_ONLY),
    "录入": ({"dispatcher"}, "请选择来源渠道", CENTRE_ONLY),
    f"督办 {N} 抓紧办理": ({"leader"}, "已对诉求", "督办只能由领导进行"),
}
ROLES = {"enterprise": None, "handler": "li-gdgs", "dispatcher": "chen-dispatch", "leader": "wang-leader",
         "admin": "admin"}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("command", list(TABLE))
async def test_role_command_matrix(app, chat, role, command):
    await file_first_appeal(chat)
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    await dispatcher.say(f"分派 {N} 供电公司")
    async with app.runtime.uow() as uow:
        before = (await uow.appeals.get(N)).version
        events_before = len(await uow.appeals.events(N))
    person = Chat(app, "ent-1") if role == "enterprise" else await bind_staff(app, f"staff:{role}", ROLES[role])
    allowed, ok_text, refusal = TABLE[command]
    reply = await person.say(command)
    if role in allowed:
        assert ok_text in reply, reply
    else:
        assert refusal in reply, reply
        async with app.runtime.uow() as uow:
            assert (await uow.appeals.get(N)).version == before
            assert len(await uow.appeals.events(N)) == events_before
