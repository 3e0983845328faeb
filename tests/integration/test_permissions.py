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
VERIFIERS = {"verified member", "dispatcher"}  # issue 14 §1 (b) and (c)
NOT_A_VERIFIER = "核验只能由服务中心调度员，或已核验的本企业人员进行"
# Another enterprise's claim is not named to anyone outside it: not found, as if it did not exist.
CLAIM_REFUSED = {"owner": NOT_A_VERIFIER, "unverified claimant": NOT_A_VERIFIER, "other enterprise": "没有找到编号为"}
# command ({claim}: the unverified claimant's claim) → (who may, what an allowed attempt answers, what a refusal
# says to enterprise people (one text, or one per person) / to staff)
OWNERSHIP = {
    "查询": (ENTERPRISE_PEOPLE, N, None, None),
    f"查询 {N}": (ENTERPRISE_PEOPLE | {"handler", "dispatcher", "leader", "admin"}, "办理记录", NOT_YOURS, None),
    f"详情 {N}": (ENTERPRISE_PEOPLE | {"dispatcher", "leader", "admin"}, "状态：待受理", NOT_YOURS,
                 "目前不在贵单位办理"),  # a handler: only what their unit holds
    f"补充 {N} 补充一张现场照片的说明": (ENTERPRISE_PEOPLE, "已将补充内容记入", NOT_YOURS, NOT_FOR_STAFF),
    f"撤回 {N} 问题已经解决": (ENTERPRISE_PEOPLE, "确定要撤回", NOT_YOURS, NOT_FOR_STAFF),
    f"评价 {N} 5": (ENTERPRISE_PEOPLE, "不能评价", NOT_YOURS, "不能代评"),  # allowed: refused by status only (below)
    "核验": (VERIFIERS, "李四 139****1111", {"owner": NOT_A_VERIFIER, "unverified claimant": NOT_A_VERIFIER,
                                         "other enterprise": "目前没有待核验"}, CENTRE_ONLY),
    "核验 {claim} 通过": (VERIFIERS, "已核验通过：李四", CLAIM_REFUSED, CENTRE_ONLY),
    "核验 {claim} 拒绝 不是本企业员工": (VERIFIERS, "已拒绝", CLAIM_REFUSED, CENTRE_ONLY),
}


async def _file(chat: Chat, company: str, uscc: str, contact: str, phone: str) -> None:
    await chat.say("厂区门口道路施工三个月未完工，货车进出困难，希望协调加快进度")
    for answer in (company, uscc, contact, phone, "溪口镇", "1", "确认提交"):
        await chat.say(answer)


async def _stored(app) -> tuple:  # type: ignore[no-untyped-def]
    """What a refusal must leave as it was: the appeal, its timeline, the claims, the profiles and the ratings."""
    async with app.runtime.uow() as uow:
        appeal = await uow.appeals.get(N)
        events = len(await uow.appeals.events(N))
    async with app.database.engine.connect() as conn:
        members = (await conn.execute(select(t.enterprise_members).order_by(t.enterprise_members.c.id))).all()
        profiles = (await conn.execute(select(t.enterprises).order_by(t.enterprises.c.id))).all()
        ratings = (await conn.execute(select(t.ratings).order_by(t.ratings.c.id))).all()
    return (appeal.version, appeal.status, events, [tuple(m) for m in members], [tuple(p) for p in profiles],
            [tuple(r) for r in ratings])


async def _people(app, chat: Chat) -> tuple[dict[str, Chat], Chat, int]:  # type: ignore[no-untyped-def]
    """The owner (ent-1, the enterprise's first, unverified, claimant) files N; a member verified by the centre,
    a claimant left unverified and a verified member of another enterprise file theirs. Returns the
    enterprise people, the dispatcher and the unverified claimant's claim id."""
    await file_first_appeal(chat)
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    member, claimant, other = Chat(app, "ent-member"), Chat(app, "ent-claimant"), Chat(app, "ent-other")
    await _file(member, "示范精密机械有限公司", OWNER_USCC, "刘芳", "13700001111")
    await _file(claimant, "示范精密机械有限公司", OWNER_USCC, "李四", "13900001111")
    other_uscc = "91330825MA2DH4KY0" + uscc_check_char("91330825MA2DH4KY0")
    await _file(other, "另一家机械有限公司", other_uscc, "王五", "13600001111")
    async with app.runtime.uow() as uow:
        enterprise = await uow.enterprises.get_by_uscc(OWNER_USCC)
        verified = await uow.enterprises.membership(enterprise.id, member.key)
        pending = await uow.enterprises.membership(enterprise.id, claimant.key)
    assert "已核验通过" in await dispatcher.say(f"核验 {verified.id} 通过")
    async with app.runtime.uow() as uow:  # the other person is verified too: for their own enterprise
        theirs = await uow.enterprises.get_by_uscc(other_uscc)
        own = await uow.enterprises.membership(theirs.id, other.key)
    assert "已核验通过" in await dispatcher.say(f"核验 {own.id} 通过")
    people = {"owner": chat, "verified member": member, "unverified claimant": claimant, "other enterprise": other}
    return people, dispatcher, pending.id


async def _actor(app, people: dict[str, Chat], person: str) -> Chat:  # type: ignore[no-untyped-def]
    return people.get(person) or await bind_staff(app, f"staff:{person}", ROLES[person])


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("command", list(OWNERSHIP))
async def test_ownership_and_verification_matrix(app, chat, person, command):
    people, _, claim = await _people(app, chat)
    actor = await _actor(app, people, person)
    before = await _stored(app)
    allowed, ok_text, refusal_enterprise, refusal_staff = OWNERSHIP[command]
    reply = await actor.say(command.format(claim=claim))
    if person in allowed:
        assert ok_text in reply, reply
        return
    if command == "查询":  # a listing refuses nothing: it just does not show the appeal
        assert N not in reply, reply
    elif person in people:
        wanted = refusal_enterprise[person] if isinstance(refusal_enterprise, dict) else refusal_enterprise
        assert wanted in reply, reply
    else:
        assert refusal_staff.format(role=ROLE_NAMES[person]) in reply, reply
    assert await _stored(app) == before


@pytest.mark.parametrize("person", PEOPLE)
async def test_only_the_owner_or_a_verified_member_rates_a_resolved_appeal(app, chat, clock, person):
    """The 评价 row above refuses everyone by status; here the appeal is resolved, so the rating really opens."""
    people, dispatcher, _ = await _people(app, chat)
    li = await bind_staff(app, "staff:li", "li-gdgs")
    await dispatcher.say(f"分派 {N} 供电公司")
    await li.say(f"签收 {N}")
    clock.advance(days=1)
    assert "已办结" in await li.say(f"办结 {N} 已解决 已完成增容，变压器已送电")
    actor = await _actor(app, people, person)
    before = await _stored(app)
    reply = await actor.say(f"评价 {N} 5")
    if person in ENTERPRISE_PEOPLE:
        assert "非常满意" in reply and "响应及时" in actor.choice_labels, reply  # the rating goes on to its tags
        for answer in ("1", "无", "已解决"):
            reply = await actor.say(answer)
        assert "已闭环" in reply, reply
        async with app.runtime.uow() as uow:
            appeal = await uow.appeals.get(N)
            [rating] = await uow.evaluation.ratings(appeal.id)
            events = await uow.appeals.events(N)
        assert rating.level == 5
        # The timeline names who rated: the owner 张伟, or the verified member 刘芳 (not the original contact).
        assert events[-1].actor.name == {"owner": "张伟", "verified member": "刘芳"}[person], events[-1]
        return
    assert (NOT_YOURS if person in people else "不能代评") in reply, reply
    assert await _stored(app) == before
