"""Who may speak for an enterprise (issue 14 §1): the attack from the issue refused, and a claim verified by
(a) a portal token, (b) a verified member's 同意, (c) a dispatcher's 核验 — as conversations."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.channels.webchat_channel import encode_name, portal_signature, portal_token
from bot.domain.appeal import Action, Status
from bot.domain.identifiers import uscc_check_char
from bot.messages import ConversationKey
from bot.server import make_web_app
from storage import tables as t
from tests.conftest import Chat, bind_staff, start_app
from tests.integration.test_filing_dialogue import USCC, file_first_appeal

OTHER_USCC = "91330825MA2DH4KY0" + uscc_check_char("91330825MA2DH4KY0")
IMPOSTOR_PROBLEM = "厂区门口道路施工三个月未完工，货车进出困难，希望协调加快进度"


async def file_as(chat: Chat, company: str, uscc: str, contact: str, phone: str,
                  problem: str = IMPOSTOR_PROBLEM) -> str:
    """A person new to the bot files an appeal, answering every question."""
    assert "企业全称" in await chat.say(problem)
    assert "统一社会信用代码" in await chat.say(company)
    assert "联系人姓名" in await chat.say(uscc)
    assert "手机号" in await chat.say(contact)
    assert "乡镇" in await chat.say(phone)
    await chat.say("溪口镇")
    await chat.say("1")
    done = await chat.say("确认提交")
    assert "诉求已登记" in done, done
    return done.split("编号 ")[1].split("。")[0]


async def inbox(app, user: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Everything the outbox holds for a web user, oldest first."""
    async with app.runtime.uow() as uow:
        return [r.body for r in await uow.outbox.for_recipient("web", user, 0, 100)]


async def claim_of(app, user: str, uscc: str = USCC):  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        enterprise = await uow.enterprises.get_by_uscc(uscc)
        return await uow.enterprises.membership(enterprise.id, ConversationKey("web", user))


async def appeal_state(app, number: str) -> tuple:  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        appeal = await uow.appeals.get(number)
        return appeal.version, appeal.status, len(await uow.appeals.events(number))


async def test_an_impostor_with_a_public_uscc_reaches_nothing_of_the_first_filer(app, chat):
    """The attack of issue 14: B files with A's USCC and B's own name and phone."""
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    number_a = await file_first_appeal(chat)  # A: 张伟, 13800138000
    async with app.runtime.uow() as uow:
        profile_before = asdict(await uow.enterprises.get_by_uscc(USCC))
    a_before = await appeal_state(app, number_a)

    b = Chat(app, "ent-b")
    number_b = await file_as(b, "示范精密机械有限公司", USCC, "李四", "13900001111")

    async with app.runtime.uow() as uow:
        assert asdict(await uow.enterprises.get_by_uscc(USCC)) == profile_before  # the profile is not B's
    listing = await b.say("查询")
    assert number_b in listing and number_a not in listing
    assert "不是您本人提交的" in await b.say(f"查询 {number_a}")
    assert "不是您本人提交的" in await b.say(f"补充 {number_a} 联系人改为李四 13900001111")
    assert "不是您本人提交的" in await b.say(f"撤回 {number_a} 已解决")
    assert "不是您本人提交的" in await b.say(f"评价 {number_a} 1")
    assert await appeal_state(app, number_a) == a_before
    assert a_before[1] == Status.SUBMITTED

    # A's next filing starts from A's own details, not B's.
    again = await chat.say("我要反映")
    assert "张伟 138****8000" in again and "李四" not in again and "139****1111" not in again
    await chat.say("取消")
    # B's own appeal: B's own name in its timeline, B's details on it, both marked for staff.
    assert "已将补充内容记入" in await b.say(f"补充 {number_b} 施工方电话一直打不通")
    async with app.runtime.uow() as uow:
        events_b = await uow.appeals.events(number_b)
        appeal_b = await uow.appeals.get(number_b)
    assert [e.actor.name for e in events_b] == ["李四", "李四"]
    assert (appeal_b.contact, appeal_b.phone) == ("李四", "13900001111")
    pool = await dispatcher.say("待分派")
    assert pool.count("【未核验身份】") == 2
    assert "【未核验身份】" in await dispatcher.say(f"详情 {number_b}")
    assert "【未核验身份】" in await dispatcher.say(f"查询 {number_b}")
    assert "【未核验身份】" not in await b.say(f"查询 {number_b}")  # a mark for staff, not for the filer
    assert any(f"【新诉求】{number_b} 示范精密机械有限公司【未核验身份】" in m["text"]
               for m in await inbox(app, "staff:chen"))


async def test_c_a_dispatcher_lists_and_settles_claims_with_核验(app, chat):
    number_a = await file_first_appeal(chat)
    b = Chat(app, "ent-b")
    number_b = await file_as(b, "示范精密机械有限公司", USCC, "李四", "13900001111")
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    listing = await dispatcher.say("核验")
    claim_a, claim_b = await claim_of(app, "ent-1"), await claim_of(app, "ent-b")
    assert "待核验的企业身份申请（2 件）" in listing
    assert f"{claim_a.id}　示范精密机械有限公司（{USCC}）　申请人：张伟 138****8000" in listing
    assert "13800138000" not in listing and "李四 139****1111" in listing

    # Refusals change nothing and say why.
    assert "拒绝时请写明理由" in await dispatcher.say(f"核验 {claim_b.id} 拒绝")
    assert "核验 编号 通过|拒绝" in await dispatcher.say(f"核验 {claim_b.id} 也许")
    assert "只有县企业综合服务中心的调度员" in await (await bind_staff(app, "staff:li", "li-gdgs")).say(
        f"核验 {claim_a.id} 通过")
    assert "核验只能由服务中心调度员" in await b.say(f"核验 {claim_a.id} 通过")
    assert (await claim_of(app, "ent-1")).status == (await claim_of(app, "ent-b")).status == "unverified"

    assert "已核验通过：张伟" in await dispatcher.say(f"核验 {claim_a.id} 通过")
    assert "身份已核验通过" in (await inbox(app, "ent-1"))[-1]["text"]
    assert "已拒绝 李四" in await dispatcher.say(f"核验 {claim_b.id} 拒绝 非本企业员工")
    assert "未通过核验：非本企业员工" in (await inbox(app, "ent-b"))[-1]["text"]
    assert "已经处理过" in await dispatcher.say(f"核验 {claim_b.id} 通过")
    decided = await claim_of(app, "ent-1")
    assert (decided.status, decided.method, decided.decided_by) == ("verified", "dispatcher", "chen-dispatch")
    assert (await claim_of(app, "ent-b")).status == "rejected"

    # A, verified, is no longer marked; B, rejected, still is, still files, and still sees only B's own.
    pool = await dispatcher.say("待分派")
    assert pool.count("【未核验身份】") == 1
    assert f"{number_b}　示范精密机械有限公司【未核验身份】" in pool
    assert "【未核验身份】" not in await dispatcher.say(f"详情 {number_a}")
    listing_b = await b.say("查询")
    assert number_b in listing_b and number_a not in listing_b
    assert "目前没有待核验" in await dispatcher.say("核验")


async def test_b_a_verified_member_is_asked_and_approves_with_the_button(app, chat):
    number_a = await file_first_appeal(chat)
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    await dispatcher.say(f"核验 {(await claim_of(app, 'ent-1')).id} 通过")
    async with app.runtime.uow() as uow:
        profile_before = asdict(await uow.enterprises.get_by_uscc(USCC))
    assert (profile_before["contact"], profile_before["phone"]) == ("", "")  # first claimant: never the profile

    b = Chat(app, "ent-b")
    await file_as(b, "示范精密机械有限公司", USCC, "李四", "13900001111")
    prompt = (await inbox(app, "ent-1"))[-1]
    claim_b = await claim_of(app, "ent-b")
    assert "李四（手机 139****1111）以示范精密机械有限公司的名义提交了诉求" in prompt["text"]
    assert "13900001111" not in prompt["text"]
    assert prompt["choices"] == [{"label": "同意", "value": f"核验 {claim_b.id} 通过"},
                                 {"label": "拒绝", "value": f"核验 {claim_b.id} 拒绝"}]
    # A second filing by the same claimant does not ask again.
    await b.say("我要反映")
    await b.say(IMPOSTOR_PROBLEM + "，第二次反映")
    await b.say("1")
    await b.say("确认提交")
    assert sum("身份核验" in m["text"] for m in await inbox(app, "ent-1")) == 1

    # A verified member of another enterprise cannot settle it (and learns nothing about it).
    other = Chat(app, "ent-o")
    await file_as(other, "另一家机械有限公司", OTHER_USCC, "王五", "13700002222")
    await dispatcher.say(f"核验 {(await claim_of(app, 'ent-o', OTHER_USCC)).id} 通过")
    assert "没有找到编号为" in await other.say(f"核验 {claim_b.id} 通过")
    assert (await claim_of(app, "ent-b")).status == "unverified"

    # A presses 同意 (the button sends its value).
    assert "已核验通过：李四" in await chat.say(prompt["choices"][0]["value"])
    assert "身份已核验通过" in (await inbox(app, "ent-b"))[-1]["text"]
    settled = await claim_of(app, "ent-b")
    assert (settled.status, settled.method, settled.decided_by) == ("verified", "member", "web:ent-1")
    # B now reaches A's appeal, and the timeline names B, not A's contact.
    assert number_a in await b.say("查询")
    assert "已将补充内容记入" in await b.say(f"补充 {number_a} 变压器型号已确认")
    async with app.runtime.uow() as uow:
        events = await uow.appeals.events(number_a)
    assert (events[-1].action, events[-1].actor.name) == (Action.SUPPLEMENT, "李四")
    # Only now, as a verified member, do B's details reach the profile.
    await b.say("我要反映")
    await b.say("厂房屋顶光伏并网申请提交一个月没有回复，请帮忙催办")
    await b.say("1")
    await b.say("确认提交")
    async with app.runtime.uow() as uow:
        profile = await uow.enterprises.get_by_uscc(USCC)
    assert (profile.contact, profile.phone) == ("李四", "13900001111")
    assert "张伟 138****8000" in await chat.say("我要反映")  # A's own details still prefill A's filing


def portal_secured(settings):  # type: ignore[no-untyped-def]
    webchat = settings.webchat.model_copy(update={"demo_mode": False, "portal_secret": SecretStr("portal-secret")})
    return settings.model_copy(update={"webchat": webchat})


async def test_a_a_portal_token_with_uscc_and_name_makes_a_verified_member(settings, clock):
    application = await start_app(portal_secured(settings), clock)
    try:
        number_a = await file_first_appeal(Chat(application, "ent-1"))
        expires = int(application.runtime.now().timestamp()) + 600  # the frozen Clock
        async with TestClient(TestServer(make_web_app(application))) as client:
            async def post(user: str, token: str, text: str):  # type: ignore[no-untyped-def]
                r = await client.post("/api/web/messages", json={"user": user, "text": text, "token": token})
                return r.status, await r.json()

            # A token whose claims were changed after signing is refused, and stores nothing.
            good = portal_token("portal-secret", "ent-p", expires, USCC, "示范精密机械有限公司")
            forged = good.replace(USCC, OTHER_USCC)
            status, body = await post("ent-p", forged, "查询")
            assert status == 403 and "签名" in body["error"]
            bad_name = f"{expires}.{USCC}.%%%.{portal_signature('portal-secret', 'ent-p', expires, USCC, '%%%')}"
            status, body = await post("ent-p", bad_name, "查询")
            assert status == 400 and "企业名称" in body["error"]
            bad_code = "91330825MA2DH4KX3T"
            name = encode_name("示范精密机械有限公司")
            token = f"{expires}.{bad_code}.{name}.{portal_signature('portal-secret', 'ent-p', expires, bad_code, name)}"
            status, body = await post("ent-p", token, "查询")
            assert status == 400 and "统一社会信用代码" in body["error"]
            async with application.database.engine.connect() as conn:
                members = (await conn.execute(select(func.count()).select_from(t.enterprise_members))).scalar_one()
            assert members == 1  # A's claim only

            status, body = await post("ent-p", good, "查询")
            assert status == 200 and number_a in body["replies"][0]["text"]
            status, body = await post("ent-p", good, f"查询 {number_a}")
            assert "办理记录" in body["replies"][0]["text"]
            # The portal's member files: the company comes from the portal, the contact is theirs to give.
            status, body = await post("ent-p", good, "我要反映")
            assert "已为您带入企业信息：示范精密机械有限公司" in body["replies"][0]["text"]
            assert "请填写您的联系人信息" in body["replies"][0]["text"]
            for said in ("园区外的污水管网堵塞半个月了，厂区积水影响生产，请尽快疏通", "赵六", "13500001111",
                         "溪口镇", "1"):
                await post("ent-p", good, said)
            status, body = await post("ent-p", good, "确认提交")
            assert "诉求已登记" in body["replies"][0]["text"] and "尚未核验" not in body["replies"][0]["text"]
            number_p = body["replies"][0]["text"].split("编号 ")[1].split("。")[0]
            async with application.runtime.uow() as uow:
                assert (await uow.appeals.get(number_p)).flags.get("filer_unverified") is None
                profile = await uow.enterprises.get_by_uscc(USCC)
            assert (profile.contact, profile.phone) == ("赵六", "13500001111")  # a verified member's details
            # A plain token (no company claims) for someone else reaches nothing of A's.
            plain = portal_token("portal-secret", "ent-q", expires)
            status, body = await post("ent-q", plain, f"查询 {number_a}")
            assert status == 200 and "不是您本人提交的" in body["replies"][0]["text"]
        claim = await claim_of(application, "ent-p")
        assert (claim.status, claim.method) == ("verified", "portal")
        async with application.runtime.uow() as uow:
            identity = await uow.directory.identity(ConversationKey("web", "ent-p"))
            profile = await uow.enterprises.get_by_uscc(USCC)
        assert identity.enterprise_id == profile.id and profile.name == "示范精密机械有限公司"
    finally:
        await application.close()
