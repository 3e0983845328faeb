"""Every role × every staff command: allowed, or refused with a reason and nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.domain.identifiers import uscc_check_char
from bot.texts import ROLE as ROLE_NAMES
from storage import tables as t
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


# ---- issue 14 §1: who may act on an enterprise's appeal, by ownership and verification ----

OWNER_USCC = "91330825MA2DH4KX39"  # the USCC file_first_appeal files with
# the enterprise-side states, then each staff role of the table above
PEOPLE = ("owner", "verified member", "unverified claimant", "other enterprise",
          *[r for r in ROLES if r != "enterprise"])
ENTERPRISE_PEOPLE = {"owner", "verified member"}
NOT_YOURS = "不是您本人提交的"
NOT_FOR_STAFF = "不是{role}可用的命令"
# command → (who may, what an allowed attempt answers, what a refusal says to enterprise / to staff)
OWNERSHIP = {
    "查询": (ENTERPRISE_PEOPLE, N, None, None),
    f"查询 {N}": (ENTERPRISE_PEOPLE | {"handler", "dispatcher", "leader", "admin"}, "办理记录", NOT_YOURS, None),
    f"补充 {N} 补充一张现场照片的说明": (ENTERPRISE_PEOPLE, "已将补充内容记入", NOT_YOURS, NOT_FOR_STAFF),
    f"撤回 {N} 问题已经解决": (ENTERPRISE_PEOPLE, "确定要撤回", NOT_YOURS, NOT_FOR_STAFF),
    f"评价 {N} 5": (ENTERPRISE_PEOPLE, "不能评价", NOT_YOURS, "不能代评"),  # allowed: refused by status only
}


async def _file(chat: Chat, company: str, uscc: str, contact: str, phone: str) -> None:
    await chat.say("厂区门口道路施工三个月未完工，货车进出困难，希望协调加快进度")
    for answer in (company, uscc, contact, phone, "溪口镇", "1", "确认提交"):
        await chat.say(answer)


async def _stored(app) -> tuple:  # type: ignore[no-untyped-def]
    """What a refusal must leave as it was: the appeal, its timeline, the claims and the profiles."""
    async with app.runtime.uow() as uow:
        appeal = await uow.appeals.get(N)
        events = len(await uow.appeals.events(N))
    async with app.database.engine.connect() as conn:
        members = (await conn.execute(select(t.enterprise_members).order_by(t.enterprise_members.c.id))).all()
        profiles = (await conn.execute(select(t.enterprises).order_by(t.enterprises.c.id))).all()
    return appeal.version, appeal.status, events, [tuple(m) for m in members], [tuple(p) for p in profiles]


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("command", list(OWNERSHIP))
async def test_ownership_and_verification_matrix(app, chat, person, command):
    await file_first_appeal(chat)  # the owner: ent-1, the enterprise's first (unverified) claimant
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    member, claimant, other = Chat(app, "ent-member"), Chat(app, "ent-claimant"), Chat(app, "ent-other")
    await _file(member, "示范精密机械有限公司", OWNER_USCC, "刘芳", "13700001111")
    await _file(claimant, "示范精密机械有限公司", OWNER_USCC, "李四", "13900001111")
    other_uscc = "91330825MA2DH4KY0" + uscc_check_char("91330825MA2DH4KY0")
    await _file(other, "另一家机械有限公司", other_uscc, "王五", "13600001111")
    async with app.runtime.uow() as uow:
        enterprise = await uow.enterprises.get_by_uscc(OWNER_USCC)
        verified = await uow.enterprises.membership(enterprise.id, member.key)
    assert "已核验通过" in await dispatcher.say(f"核验 {verified.id} 通过")
    async with app.runtime.uow() as uow:  # the other person is verified too: for their own enterprise
        theirs = await uow.enterprises.get_by_uscc(other_uscc)
        own = await uow.enterprises.membership(theirs.id, other.key)
    assert "已核验通过" in await dispatcher.say(f"核验 {own.id} 通过")
    people = {"owner": chat, "verified member": member, "unverified claimant": claimant, "other enterprise": other}
    actor = people.get(person) or await bind_staff(app, f"staff:{person}", ROLES[person])
    before = await _stored(app)
    allowed, ok_text, refusal_enterprise, refusal_staff = OWNERSHIP[command]
    reply = await actor.say(command)
    if person in allowed:
        assert ok_text in reply, reply
        return
    if command == "查询":  # a listing refuses nothing: it just does not show the appeal
        assert N not in reply, reply
    elif person in people:
        assert refusal_enterprise in reply, reply
    else:
        assert refusal_staff.format(role=ROLE_NAMES[person]) in reply, reply
    assert await _stored(app) == before
