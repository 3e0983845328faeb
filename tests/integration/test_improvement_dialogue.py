"""Tracked improvement items in conversation (规范 8.1/8.2, issue 17 §4–§6): 为企办实事 nominated, reviewed by
the expert panel, confirmed, assigned and finished; a 现行机制无法解决 mark at 办结 becoming a reform task; weak
spots of last month's index becoming follow-ups; reminders, the leaders' digest and the report."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.config import EXAMPLE_CONFIG, ConfigError, load_settings
from bot.pipeline import TurnRejected
from bot.reports.content import build
from bot.reports.render import html_page, markdown
from bot.reports.workbook import write
from bot.services.kpi import report_for
from bot.services.scheduling import run_sweeps
from storage import tables as t
from tests.conftest import SHANGHAI, Chat, bind_staff, start_app
from tests.integration.test_filing_dialogue import file_first_appeal
from tests.integration.test_handling_dialogue import inbox
from tests.integration.test_rating_buttons import tap

FIRST, SECOND = "QH20261125-0001", "QH20261125-0002"


async def people(app):  # type: ignore[no-untyped-def]
    return {who: await bind_staff(app, f"staff:{who}", sid) for who, sid in (
        ("chen", "chen-dispatch"), ("wang", "wang-leader"), ("li", "li-gdgs"), ("zhao", "zhao-jxj"),
        ("zhou", "zhou-rsj"), ("wu", "wu-swj"))}


async def items(app) -> list[tuple]:  # type: ignore[no-untyped-def]
    c = t.improvement_items.c
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(c.kind, c.seq, c.state, c.owner_unit_id, c.source)
                                   .order_by(c.kind, c.seq))).all()
    return [tuple(r) for r in rows]


async def entries(app) -> list[tuple]:  # type: ignore[no-untyped-def]
    c = t.improvement_entries.c
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(c.kind, c.staff_id, c.vote, c.text).order_by(c.id))).all()
    return [tuple(r) for r in rows]


async def report_markdown(app, period: str) -> str:  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        kpi = await report_for(uow, app.runtime, None, period)
    return markdown(build(kpi, app.settings.evaluation.ranking_min_sample), app.runtime.tz)


async def test_a_nomination_is_reviewed_by_the_panel_confirmed_assigned_and_finished(app, clock):
    p = await people(app)
    await file_first_appeal(Chat(app, "ent-1"))
    await file_first_appeal(Chat(app, "ent-2"))

    # The centre's listing collects the report's frequent category as a candidate.
    listed = await p["chen"].say("实事")
    assert "已从2026Q4报告收集新候选 1 项" in listed
    assert "实事 1　候选　水电气能源（2026Q4 受理 2 件，占 100.0%）" in listed
    assert p["chen"].choice_labels == ["提名实事 1"]
    assert "为企办实事、改革任务和薄弱环节跟进是工作人员的功能" in await Chat(app, "ent-1").say("实事")
    assert "只有服务中心调度员和领导可以提名" in await p["li"].say("实事 提名 开发区用电报装提速")

    reply = await p["chen"].say(f"实事 提名 {FIRST} {SECOND} 开发区企业用电报装提速")
    assert "已提名实事 2：开发区企业用电报装提速" in reply and "赵科长、周科长、吴科长" in reply
    [request] = [m for m in await inbox(app, p["zhao"]) if "【为企办实事评审】" in m]
    assert "实事 2：开发区企业用电报装提速" in request and FIRST in request and "提名：陈晓" in request
    await p["zhao"].say("待办")  # any turn refreshes the chat's buttons; the request's are in the outbox
    async with app.runtime.uow() as uow:
        [row] = [r for r in await uow.outbox.for_recipient("web", "staff:zhao", 0, 50)
                 if "【为企办实事评审】" in r.body["text"]]
    assert [c["value"] for c in row.body["choices"]] == ["实事 同意 2", "实事 不同意 2", "实事 意见 2"]

    assert "已记录您对实事 2 的专家评审：同意。目前 1/3 票" in await p["zhao"].say("实事 同意 2")
    assert "只有配置的评审专家" in await p["li"].say("实事 同意 2")
    refused = await p["wang"].say("实事 确认 2")
    assert "还差 2 票（已投 1/3），未投票：周科长、吴科长" in refused
    assert "（意见：与年度重点工作重复）" in await p["zhou"].say("实事 不同意 2 与年度重点工作重复")
    # 提意见 without words asks for them, then records the vote with its opinion.
    assert "请写下您对实事 2 的评审意见" in await p["wu"].say("实事 意见 2")
    assert "3/3 票" in await p["wu"].say("建议先在开发区试点，再推广")
    [ready] = [m for m in await inbox(app, p["wang"]) if "【为企办实事待确认】" in m]
    assert "同意 1、不同意 1、意见 1" in ready

    assert "已确认实事 2 列入为企办实事清单" in await p["wang"].say("实事 确认 2 先在开发区试点")
    assert any("实事 2：开发区企业用电报装提速 已由王县长确认" in m for m in await inbox(app, p["chen"]))
    assert "实事 2 当前状态为「已确认，待交办」，不能投票" in await p["zhao"].say("实事 同意 2")
    assert "实事 2 当前状态为「已确认，待交办」，不能确认" in await p["wang"].say("实事 确认 2")
    assert "「2月30日」不是有效日期" in await p["chen"].say("实事 交办 2 供电 2月30日")

    assert "只有服务中心调度员和领导" in await p["li"].say("实事 交办 2 供电 2026-12-31")
    assert "已过或就是今天" in await p["chen"].say("实事 交办 2 供电 2026-11-25")
    assert "已将实事 2 交由国网示范县供电公司办理，期限 2026年12月31日" in await p["chen"].say(
        "实事 交办 2 供电 2026-12-31 每两周报告一次")
    [assigned] = [m for m in await inbox(app, p["li"]) if "【为企办实事清单】" in m]
    assert "要求：每两周报告一次" in assigned and "实事 进展 2" in assigned

    assert "不是贵单位负责的事项" in await p["zhao"].say("实事 进展 2 已了解")
    assert "已记录实事 2 的进展" in await p["li"].say("实事 进展 2 已梳理报装流程，拟取消两项材料")
    assert any("【为企办实事清单进展】实事 2" in m for m in await inbox(app, p["chen"]))
    detail = await p["wang"].say("实事 2")
    assert ("专家评审（3/3）：赵科长 同意；周科长 不同意（意见：与年度重点工作重复）；"
            "吴科长 意见（意见：建议先在开发区试点，再推广）") in detail
    assert "责任单位：国网示范县供电公司　期限：2026年12月31日" in detail and "已梳理报装流程" in detail

    clock.advance(days=3)
    assert "实事 2 已完成" in await p["li"].say("实事 完成 2 报装时限由 15 个工作日压缩到 5 个工作日，已写入服务指南")
    assert any("【为企办实事清单完成】实事 2" in m for m in await inbox(app, p["wang"]))
    listed = await p["wang"].say("实事")
    assert "实事 2　已完成　开发区企业用电报装提速（国网示范县供电公司，2026年11月28日 完成）" in listed
    assert await items(app) == [("shishi", 1, "candidate", None, "report"),
                                ("shishi", 2, "done", "gdgs", "nomination")]
    assert [(k, s, v) for k, s, v, _ in await entries(app)] == [
        ("nominate", "chen-dispatch", None),
        ("vote", "zhao-jxj", "同意"), ("vote", "zhou-rsj", "不同意"), ("vote", "wu-swj", "意见"),
        ("confirm", "wang-leader", None), ("assign", "chen-dispatch", None), ("progress", "li-gdgs", None),
        ("done", "li-gdgs", None)]
    md = await report_markdown(app, "2026Q4")
    assert "| 实事 2 | 开发区企业用电报装提速 | 已完成 | 同意 1、不同意 1 | 国网示范县供电公司 | 2026-12-31 |" in md
    assert "完成：报装时限由 15 个工作日压缩到 5 个工作日" in md


async def test_bad_commands_say_why_and_store_nothing(app):
    p = await people(app)
    assert "请按格式发送：实事（清单）" in await p["chen"].say("实事 随便")
    assert "没有实事 9" in await p["chen"].say("实事 9")
    assert "没有找到编号为 QH20261125-0099 的诉求" in await p["chen"].say("实事 提名 QH20261125-0099 用电报装提速")
    assert "请写明事项内容" in await p["chen"].say("实事 提名 提速")
    assert "改革任务由领导交办" in await p["chen"].say("改革 交办 1 经信局 2027-03-31")
    assert await items(app) == []


async def test_unsolvable_at_resolution_becomes_a_reform_task_with_reminders_and_closure(app, clock):
    p = await people(app)
    number = await file_first_appeal(Chat(app, "ent-1"))
    await p["chen"].say(f"分派 {number} 供电公司")
    await p["li"].say(f"签收 {number}")
    assert "请写明理由" in await p["li"].say(f"办结 {number} 已解决 已解释政策 现行机制无法解决")
    done = await p["li"].say(f"办结 {number} 部分解决 已解释政策 现行机制无法解决：增容审批涉及三个部门，无联审机制")
    assert "已办结（部分解决）" in done and "记为改革任务候选（改革 1）" in done
    async with app.runtime.uow() as uow:
        a = await uow.appeals.get(number)
    assert a.resolution == "已解释政策" and a.outcome == "部分解决"
    [mark] = [m for m in await inbox(app, p["chen"]) if "【改革任务候选】" in m]
    assert "增容审批涉及三个部门，无联审机制" in mark and number in mark

    listed = await p["chen"].say("改革")
    assert f"改革 1　候选　增容审批涉及三个部门，无联审机制（{number}）" in listed
    # The appeal's own 详情 says it was marked, and where the candidate stands.
    detail = await p["chen"].say(f"详情 {number}")
    assert "办结时标记“现行机制无法解决”：增容审批涉及三个部门，无联审机制（改革 1，候选）" in detail
    assert "改革任务由领导交办" in await p["chen"].say("改革 交办 1 经信局 2026-12-31")
    assert "请按格式发送：改革 交办 1 责任单位 期限" in await p["wang"].say("改革 交办 1 经信局")
    reply = await p["wang"].say("改革 交办 1 经信局 5个工作日 建立用电增容联审机制")
    assert "已将改革 1 交由县经济和信息化局办理，期限 2026年12月02日" in reply
    assert any("【改革任务清单】改革 1" in m and "建立用电增容联审机制" in m for m in await inbox(app, p["zhao"]))

    clock.advance(days=6)  # Tue 12-01: one working day before the deadline
    assert (await run_sweeps(app.sweeps, ["improvement_due"])).sent == {"improvement_due": 1}
    assert any("【即将到期】改革 1" in m for m in await inbox(app, p["zhao"]))
    clock.advance(days=2)  # Thu 12-03: overdue
    assert (await run_sweeps(app.sweeps, ["improvement_due"])).sent == {"improvement_due": 2}  # unit + centre
    assert (await run_sweeps(app.sweeps, ["improvement_due"])).sent == {"improvement_due": 0}  # once a day
    assert any("【已超期】改革 1" in m and "已超期 1 个工作日" in m for m in await inbox(app, p["chen"]))
    digest = await p["wang"].say("日报")
    assert "⚠ 改进事项超期 1 项" in digest and "· 改革 1 县经济和信息化局 期限 2026年12月02日，超 1 个工作日" in digest

    assert "请写明完成情况" in await p["zhao"].say("改革 完成 1 好")
    assert "改革 1 已完成" in await p["zhao"].say("改革 完成 1 出台《用电增容联审办法》，固化为服务事项")
    assert (await run_sweeps(app.sweeps, ["improvement_due"])).sent == {"improvement_due": 0}
    md = await report_markdown(app, "2026Q4")
    assert "## 十四、改革任务清单" in md and "办结时标记“现行机制无法解决”" in md
    assert "完成：出台《用电增容联审办法》，固化为服务事项" in md


async def test_weak_spots_of_last_month_become_follow_ups_shown_in_this_months_report(settings, clock):
    evaluation = settings.evaluation.model_copy(update={"ranking_min_sample": 1})
    app = await start_app(settings.model_copy(update={"evaluation": evaluation}), clock)
    try:
        p = await people(app)
        clock.at = datetime(2026, 10, 20, 10, 0, tzinfo=SHANGHAI)
        chat = Chat(app, "ent-1")
        number = await file_first_appeal(chat)
        await p["chen"].say(f"分派 {number} 供电公司")
        await p["li"].say(f"签收 {number}")
        await p["li"].say(f"办结 {number} 已解决 已完成增容")
        await chat.say(f"评价 {number} 不满意")
        await chat.say("跳过")
        await chat.say("电压还是不稳")
        await chat.say("未解决")
        clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
        # The scheduler collects last month's weak spots by itself, once, and tells the leaders.
        assert (await run_sweeps(app.sweeps, ["improvement_weak_spots"])).sent == {"improvement_weak_spots": 2}
        assert (await run_sweeps(app.sweeps, ["improvement_weak_spots"])).sent == {"improvement_weak_spots": 0}
        assert any("【薄弱环节】2026-10 企业服务指数发现 1 个薄弱环节" in m for m in await inbox(app, p["wang"]))

        listed = await p["wang"].say("跟进")
        assert "跟进 1　候选　国网示范县供电公司（2026-10 满意率 0.0%" in listed
        assert p["wang"].choice_labels == ["交办跟进 1"]
        assert "只有服务中心调度员和领导" in await p["li"].say("跟进 交办 1")
        reply = await tap(p["wang"], "交办跟进 1")  # the weak unit, the configured 20 working days
        assert "已将跟进 1 交由国网示范县供电公司办理，期限 2026年12月23日" in reply
        assert "已记录跟进 1 的进展" in await p["li"].say("跟进 进展 1 已对全部线路做电压巡检，更换两台调压器")
        assert (await p["wang"].say("跟进")).count("跟进 1") == 1  # listing again collects nothing twice
        md = await report_markdown(app, "2026-11")
        assert "## 十六、薄弱环节跟进" in md
        assert "| 跟进 1 | 国网示范县供电公司 | 2026-10 | 办理中 | 国网示范县供电公司 | 2026-12-23 |" in md
        assert "已对全部线路做电压巡检" in md
        october = await report_markdown(app, "2026-10")
        assert "## 十七、本期发现的薄弱环节（下期跟进）" in october and "国网示范县供电公司：满意率 0.0%" in october
    finally:
        await app.close()


async def test_reviewers_who_have_not_voted_are_reminded_once_and_the_digest_counts(app, clock):
    p = await people(app)
    await p["wang"].say("实事 提名 企业开办一件事办理")
    await p["zhao"].say("实事 同意 1")
    clock.advance(minutes=5)
    digest = await p["wang"].say("日报")
    assert "📋 改进事项：新提名 1，确认 0，否决 0，交办 0，进展 0，完成 0；专家评审中 1" in digest
    assert (await run_sweeps(app.sweeps, ["improvement_review"])).sent == {"improvement_review": 0}  # not yet
    clock.advance(days=2)  # Fri 11-27: the one working day for it ended on Thursday
    assert (await run_sweeps(app.sweeps, ["improvement_review"])).sent == {"improvement_review": 2}
    assert (await run_sweeps(app.sweeps, ["improvement_review"])).sent == {"improvement_review": 0}
    assert any("【待评审】实事 1" in m for m in await inbox(app, p["zhou"]))
    assert not any("【待评审】" in m for m in await inbox(app, p["zhao"]))  # zhao has voted
    await p["zhou"].say("实事 同意 1")
    await p["wu"].say("实事 同意 1 支持")
    await tap_vote_done(app, p["wang"])
    assert "已否决" in await p["wang"].say("实事 1")


async def tap_vote_done(app, leader: Chat) -> None:  # type: ignore[no-untyped-def]
    """The leader taps 否决 on the 待确认 notice: asked for the reason, then the item is rejected."""
    async with app.runtime.uow() as uow:
        [row] = [r for r in await uow.outbox.for_recipient("web", leader.key.user_id, 0, 100)
                 if "【为企办实事待确认】" in r.body["text"]]
    leader.choices = row.body["choices"]
    assert "请写下否决实事 1 的理由" in await tap(leader, "否决")
    assert "已否决实事 1" in await leader.say("已列入年度重点工作，不重复立项")


def test_reviewers_must_be_configured_staff(monkeypatch):
    monkeypatch.setenv("QIHU_IMPROVEMENT__REVIEWERS", '["nobody"]')
    with pytest.raises(ConfigError, match=r"improvement\.reviewers 中的人员 'nobody' 未在 staff 中配置"):
        load_settings(EXAMPLE_CONFIG)
    monkeypatch.setenv("QIHU_IMPROVEMENT__REVIEWERS", '["zhao-jxj"]')
    monkeypatch.setenv("QIHU_IMPROVEMENT__MIN_VOTES", "2")
    with pytest.raises(ConfigError, match="min_votes（2）不能多于评审专家人数"):
        load_settings(EXAMPLE_CONFIG)


async def test_two_listings_at_once_collect_each_candidate_once(app):
    p = await people(app)
    chat2 = await bind_staff(app, "staff:chen2", "chen-dispatch", channel="telegram")
    await file_first_appeal(Chat(app, "ent-1"))
    await file_first_appeal(Chat(app, "ent-2"))
    replies = await asyncio.gather(p["chen"].say("实事"), chat2.say("实事"), p["wang"].say("实事"))
    assert all("实事 1　候选　水电气能源" in r for r in replies)
    assert await items(app) == [("shishi", 1, "candidate", None, "report")]
    # The candidate goes to review with the project's wording; its timeline starts with the nomination.
    assert "已提名实事 1：开发区用电报装一件事" in await p["chen"].say("实事 提名 1 开发区用电报装一件事")
    assert "陈晓　提名评审" in await p["wang"].say("实事 1")


async def test_what_staff_wrote_on_an_item_is_text_in_the_html_and_the_xlsx(app, tmp_path):
    p = await people(app)
    await p["chen"].say("实事 提名 =HYPERLINK(\"https://evil.example\") <script>alert(1)</script> | 提速")
    async with app.runtime.uow() as uow:
        content = build(await report_for(uow, app.runtime, None, "2026Q4"), 1)
    page = html_page(content, SHANGHAI)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "| 实事 1 | =HYPERLINK" in markdown(content, SHANGHAI) and "／ 提速" in markdown(content, SHANGHAI)
    sheet = load_workbook(write(content, tmp_path / "r.xlsx", SHANGHAI))["改进事项"]
    head = [c.value for c in sheet[1]]
    [row] = list(sheet.iter_rows(min_row=2))
    cell = row[head.index("事项")]
    assert cell.data_type == "s" and cell.value.startswith("'=HYPERLINK")
    assert row[head.index("清单")].value == "为企办实事清单" and row[head.index("事项状态")].value == "专家评审中"


HOSTILE = ["实事 交办 1 ＃＃", "实事 " + "9" * 30, "实事 提名 " + "长" * 3000, "改革 交办 1 经信局 9999-99-99",
           "跟进 交办 1 供电 0个工作日", "实事 意见 ３", "实事 同意", "实事 确认 x", "改革 完成", "跟进 进展 1",
           "实事 交办 1 供电 13月1日", "实事 提名 1", "实事 #1", "改革 交办 1 经 信 局 2027-1-1", "跟进 1 2 3",
           "实事 提名 QH20261125-0001", "实事\u0000提名", "改革 交办 1 <b>局</b> 30天", "实事 否决 1 " + "理" * 5000]


async def test_hostile_commands_get_a_reason_never_a_failure(app):
    p = await people(app)
    await file_first_appeal(Chat(app, "ent-1"))
    for who in ("chen", "wang", "li", "zhao"):
        for text in HOSTILE:
            try:
                reply = await p[who].say(text)
            except TurnRejected as exc:  # the NUL: refused before any handler; the channel gives this reason
                reply = exc.reason
            assert reply and "系统暂时无法处理" not in reply, (who, text, reply)
            await p[who].say("取消")
