"""评价改进 conversations: rating with tags, the whole 差评 loop (valid and invalid), call-backs, repeats."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.domain.appeal import Action, Status
from bot.services import callbacks
from bot.services.evaluation_clocks import late_bad_reviews
from handlers.notices import overdue_notice
from storage import tables as t
from tests.conftest import Chat, bind_staff
from tests.integration.test_filing_dialogue import count, file_first_appeal
from tests.integration.test_handling_dialogue import appeal, inbox


async def resolved_appeal(app, chat: Chat, clock):  # type: ignore[no-untyped-def]
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    clock.advance(days=1)
    assert "已办结" in await li.say(f"办结 {number} 已解决 已完成增容，变压器已送电")
    return number, dispatcher, li


async def test_good_rating_with_tags_closes_and_stores_the_tag_version(app, chat, clock):
    number, *_ = await resolved_appeal(app, chat, clock)
    ask = await chat.say(f"评价 {number}")
    assert "作出评价" in ask and chat.choice_labels[0] == "非常满意"
    tags = await chat.say("1")  # the first option: 非常满意
    assert "非常满意" in tags and "响应及时" in chat.choice_labels
    assert "没有识别「火星」" in await chat.say("火星")
    assert "意见或建议" in await chat.say("1 2")
    assert "解决了吗" in await chat.say("供电所很负责")
    assert "已闭环" in await chat.say("已解决")
    a = await appeal(app, number)
    assert a.status == Status.CLOSED
    async with app.runtime.uow() as uow:
        [r] = await uow.evaluation.ratings(a.id)
    assert (r.level, r.tags, r.solved, r.comment, r.tag_version) == (5, ["响应及时", "办理高效"], "已解决",
                                                                     "供电所很负责", "2026.1")
    assert "本轮已评价过" in await chat.say(f"评价 {number} 5")


@pytest.mark.parametrize("said", ["完成", "没有。", "谢谢！", "无"])
async def test_nothing_to_add_at_the_opinion_step_is_not_stored_as_an_opinion(app, chat, clock, said):
    """A second tap of 完成 after the tags, or a plain 没有, means no opinion: it is not recorded as one."""
    number, *_ = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number}")
    await chat.say("不满意")
    await chat.say("1 3")
    assert "解决了吗" in await chat.say(said)
    await chat.say("未解决")
    a = await appeal(app, number)
    async with app.runtime.uow() as uow:
        [r] = await uow.evaluation.ratings(a.id)
    assert (r.level, r.tags, r.comment) == (2, ["响应慢", "解答不清"], "")


async def test_an_opinion_that_starts_with_thanks_is_kept_whole(app, chat, clock):
    number, *_ = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number}")
    await chat.say("满意")
    await chat.say("跳过")
    await chat.say("谢谢，下次希望早点上门")
    await chat.say("已解决")
    a = await appeal(app, number)
    async with app.runtime.uow() as uow:
        [r] = await uow.evaluation.ratings(a.id)
    assert r.comment == "谢谢，下次希望早点上门"


async def test_only_the_filing_enterprise_rates_and_only_when_resolved(app, chat, clock):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    number = await file_first_appeal(chat)
    assert "不能评价" in await chat.say(f"评价 {number} 5")
    assert "不能代评" in await dispatcher.say(f"评价 {number} 5")
    other = Chat(app, "ent-2")
    assert "不是您本人提交的" in await other.say(f"评价 {number} 5")
    assert await count(app, t.ratings) == 0


async def test_bad_review_valid_branch_rectified_then_rated_again(app, chat, clock):
    number, dispatcher, li = await resolved_appeal(app, chat, clock)
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    await chat.say(f"评价 {number} 1")  # the issue-5 prompt's button value
    assert chat.choice_labels[:2] == ["响应慢", "办理拖延"]
    await chat.say("推诿扯皮 2")
    await chat.say("说是送电了，实际电压一直不稳")
    reply = await chat.say("未解决")
    # Wed 2026-11-26 + 2 working days → Fri 2026-11-27... rated Thu 11-26, verify by Mon 11-30.
    assert "非常不满意" in reply and "2026年11月30日 前核实" in reply
    a = await appeal(app, number)
    assert a.status == Status.VERIFYING
    assert any("【差评待核实】" in m and "推诿扯皮、办理拖延" in m for m in await inbox(app, dispatcher))
    assert "待核实" in await dispatcher.say("差评")

    assert "只有县企业综合服务中心的调度员" in await li.say(f"核实 {number} 有效 自己核自己")
    assert "请按格式发送" in await dispatcher.say(f"核实 {number} 也许")
    ok = await dispatcher.say(f"核实 {number} 有效 已电话联系企业，电压不稳属实")
    assert "已交国网示范县供电公司整改" in ok and "15 个工作日" in ok
    a = await appeal(app, number)
    assert a.status == Status.RECTIFYING
    assert any("【差评整改】" in m for m in await inbox(app, li))
    assert any("经核实属实" in m for m in await inbox(app, chat))
    assert number in await li.say("待办")

    clock.advance(days=3)
    assert "已办结" in await li.say(f"办结 {number} 已解决 更换了线路调压器，电压已稳定")
    assert (await appeal(app, number)).status == Status.RESOLVED
    ask = await chat.say(f"评价 {number}")
    assert "整改后第 2 轮评价" in ask
    await chat.say("满意")
    await chat.say("跳过")
    await chat.say("跳过")
    assert "已闭环" in await chat.say("已解决")
    async with app.runtime.uow() as uow:
        a = await uow.appeals.get(number)
        ratings = await uow.evaluation.ratings(a.id)
        events = await uow.appeals.events(number)
    assert [(r.round, r.level, r.verdict) for r in ratings] == [(1, 1, "valid"), (2, 4, None)]
    actions = [e.action for e in events]
    assert actions.count(Action.RESOLVE) == 2 and Action.RATE_BAD in actions and Action.VERIFY_VALID in actions
    # Both rounds visible in the timelines of staff and enterprise.
    detail = await dispatcher.say(f"详情 {number}")
    assert "非常不满意（第 1 轮）" in detail and "满意（第 2 轮）" in detail and "差评核实有效" in detail
    mine = await chat.say(f"查询 {number}")
    assert "非常不满意（第 1 轮）" in mine and "满意（第 2 轮）" in mine
    # The leader's 统计 counts the rectification on time.
    stats = await leader.say("统计 2026-11")
    assert "差评 1 件，差评整改率 100.0%（1/1）" in stats


async def test_verify_without_a_number_offers_the_bad_reviews_waiting_for_a_verdict(app, chat, clock):
    number, dispatcher, _ = await resolved_appeal(app, chat, clock)
    assert "目前没有需要「核实」的诉求" in await dispatcher.say("核实")  # nothing yet: says so, with the form
    await chat.say(f"评价 {number} 2")
    for answer in ("跳过", "跳过", "部分解决"):
        await chat.say(answer)
    offered = await dispatcher.say("核实")
    assert "请选择要「核实」的诉求" in offered
    assert dispatcher.choice_labels == [f"{number} 不满意待核实"]
    assert "核实 编号 有效 说明" in await dispatcher.say(dispatcher.choices[0]["value"])  # the verdict is still needed
    assert "的差评有效" in await dispatcher.say(f"核实 {number} 有效 已电话联系企业，确属办理拖延")


async def test_bad_review_invalid_branch_is_excluded_from_kpis(app, chat, clock):
    number, dispatcher, _ = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number} 2")
    await chat.say("跳过")
    await chat.say("跳过")
    await chat.say("部分解决")
    reply = await dispatcher.say(f"核实 {number} 无效 恶意 企业承认为争取补贴故意差评")
    assert "差评无效（恶意）" in reply
    a = await appeal(app, number)
    assert a.status == Status.CLOSED
    told = await inbox(app, chat)
    assert any("经核实：企业承认为争取补贴故意差评" in m and "不计入考核" in m for m in told)
    async with app.runtime.uow() as uow:
        [r] = await uow.evaluation.ratings(a.id)
    assert (r.verdict, r.verdict_kind) == ("invalid", "恶意")
    stats = await dispatcher.say("统计 2026-11")
    assert "满意率 —（严格口径 —；0/0）" in stats and "无效差评已剔除 1 件" in stats
    assert "诉求" in await dispatcher.say(f"核实 {number} 有效 再核一次")  # no open bad review any more


async def test_overdue_sweeps_remind_once(app, chat, clock):
    number, dispatcher, li = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number} 1")
    await chat.say("跳过")
    await chat.say("跳过")
    await chat.say("未解决")
    rt = app.runtime
    assert await late_bad_reviews(rt, "verify", overdue_notice) == []  # not late yet
    clock.advance(days=6)
    assert await late_bad_reviews(rt, "verify", overdue_notice) == [number]
    assert await late_bad_reviews(rt, "verify", overdue_notice) == []  # claimed once
    assert any("【差评核实超期】" in m for m in await inbox(app, dispatcher))
    await dispatcher.say(f"核实 {number} 有效 属实")
    clock.advance(days=30)
    assert await late_bad_reviews(rt, "rectify", overdue_notice) == [number]
    assert await late_bad_reviews(rt, "rectify", overdue_notice) == []
    assert any("【差评整改超期】" in m for m in await inbox(app, li))


async def test_callbacks_sampled_reproducibly_and_recorded(app, chat, clock):
    number, dispatcher, _ = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number} 2")
    await chat.say("跳过")
    await chat.say("跳过")
    await chat.say("未解决")
    tasks = await dispatcher.say("回访")
    assert number in tasks and "差评回访" in tasks and "13800138000" in tasks
    ok = await dispatcher.say(f"回访 {number} 现场 企业表示仍不满意，电压问题未解决")
    assert "现场回访" in ok and "（不满意）" in ok
    assert "没有待回访" in await dispatcher.say("回访")
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(t.callbacks.c.reason, t.callbacks.c.seed))).all()
    assert [r.reason for r in rows] == ["bad_review"]
    seed = rows[0].seed
    # Reproducible: the same seed decides the same numbers, and about 10 % of them.
    picks = [callbacks.sampled(seed, f"QH20261125-{i:04d}", 0.10) for i in range(1, 2001)]
    assert picks == [callbacks.sampled(seed, f"QH20261125-{i:04d}", 0.10) for i in range(1, 2001)]
    assert 150 < sum(picks) < 250


async def test_repeat_complaint_flagged_then_unlinked(app, chat, clock):
    number, dispatcher, _ = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number} 5")
    await chat.say("跳过")
    await chat.say("跳过")
    await chat.say("已解决")
    clock.advance(days=10)
    await chat.say("我要反映")
    await chat.say("变压器又出问题了，供电所说要等下个月才能来修，影响生产")
    await chat.say("1")
    done = await chat.say("1")
    second = done.split("编号 ")[1].split("。")[0]
    a = await appeal(app, second)
    assert a.repeat_of == number and a.flags["repeat"] == "flagged"
    assert "请按格式发送" in await dispatcher.say(f"重复 {second}")
    assert "取消诉求" in await dispatcher.say(f"重复 {second} 取消")
    a = await appeal(app, second)
    assert a.flags["repeat"] == "unlinked"
    assert "确认诉求" in await dispatcher.say(f"重复 {second} 确认")
    assert (await appeal(app, second)).flags["repeat"] == "confirmed"


async def test_scheduler_runs_the_bad_review_clocks_once(app, chat, clock):
    """The 差评 clocks are registered sweeps: a scheduler pass sends each overdue notice once."""
    from bot.services.scheduling import run_sweeps

    number, dispatcher, _ = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {number} 1")
    for answer in ("跳过", "跳过", "未解决"):
        await chat.say(answer)
    names = ["bad_review_verify", "bad_review_rectify", "callback_sampling"]
    await run_sweeps(app.sweeps, names)
    assert not any("【差评核实超期】" in m for m in await inbox(app, dispatcher))
    clock.advance(days=6)  # past the 2-working-day verification deadline, on a working-day morning
    await run_sweeps(app.sweeps, names)
    await run_sweeps(app.sweeps, names)
    late = [m for m in await inbox(app, dispatcher) if "【差评核实超期】" in m]
    assert len(late) == 1 and number in late[0]


async def test_township_rates_the_upper_level_service_once_the_escalated_appeal_closes(app, chat, clock):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    sun = await bind_staff(app, "staff:sun", "sun-kfq")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    qian = await bind_staff(app, "staff:qian", "qian-city")
    number = await file_first_appeal(chat)
    await dispatcher.say(f"分派 {number} 开发区")
    await sun.say(f"签收 {number}")
    assert "服务中心审核" in await sun.say(f"提级 {number} 涉及跨县电网改造，需市级协调")
    assert "已提级至市级专班" in await dispatcher.say(f"提级 同意 {number}")
    # While 市级专班 is still handling, the township cannot rate it yet.
    assert "尚未闭环" in await sun.say(f"上级评价 {number} 4 很好")
    await qian.say(f"签收 {number}")
    clock.advance(days=2)
    await qian.say(f"办结 {number} 已解决 市电力公司已调整线路走向")
    assert not any("【基层评价】" in m for m in await inbox(app, sun))
    await chat.say(f"评价 {number} 5")
    for answer in ("跳过", "跳过", "已解决"):
        await chat.say(answer)
    assert (await appeal(app, number)).status == Status.CLOSED
    invite = [m for m in await inbox(app, sun) if "【基层评价】" in m]
    assert len(invite) == 1 and "市级专班" in invite[0] and f"上级评价 {number}" in invite[0]
    assert "不是贵单位提级的" in await li.say(f"上级评价 {number} 4 很好")
    refused = await chat.say(f"上级评价 {number} 4 很好")
    assert "承办" in refused or "工作人员" in refused
    done = await sun.say(f"上级评价 {number} 4 市级专班响应及时")
    assert number in done
    assert "已评价过" in await sun.say(f"上级评价 {number} 5 再评一次")
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(t.grassroots_ratings.c.rater_unit_id, t.grassroots_ratings.c.rated_unit_id,
                                          t.grassroots_ratings.c.level))).all()
    assert [tuple(r) for r in rows] == [("kfq", "city", 4)]


async def test_enterprise_township_is_invited_when_the_rating_window_closes_the_appeal(app, chat, clock):
    """Not escalated: the township of the enterprise (溪口镇) rates the county unit that led, once closed."""
    from bot.services.ports import Staff
    from bot.services.scheduling import run_sweeps

    async with app.runtime.uow() as uow:
        units = await uow.directory.units()
        rows = (await uow.conn.execute(t.staff.select())).all()
        known = [Staff(r.id, r.name, r.unit_id, r.role, r.mobile) for r in rows if r.active]
        await uow.directory.replace_org(units, [*known, Staff("xu-xikou", "徐主任（溪口镇）", "xikou", "handler")])
        await uow.commit()
    xu = await bind_staff(app, "staff:xu", "xu-xikou")
    number, _, li = await resolved_appeal(app, chat, clock)
    assert "尚未闭环" in await xu.say(f"上级评价 {number} 5 供电公司很负责")
    clock.advance(days=8)  # past the 7-day rating window: 已闭环 as 未评价
    await run_sweeps(app.sweeps, ["rating_expiry"])
    assert (await appeal(app, number)).status == Status.CLOSED
    invite = [m for m in await inbox(app, xu) if "【基层评价】" in m]
    assert len(invite) == 1 and "国网示范县供电公司" in invite[0]
    assert "不在贵乡镇" in await li.say(f"上级评价 {number} 5 自评")
    assert number in await xu.say(f"上级评价 {number} 5 供电公司很负责")
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(t.grassroots_ratings.c.rater_unit_id, t.grassroots_ratings.c.rated_unit_id,
                                          t.grassroots_ratings.c.level))).all()
    assert [tuple(r) for r in rows] == [("xikou", "gdgs", 5)]


async def test_third_party_scores_import_all_or_nothing(app, tmp_path, monkeypatch, capsys):
    import asyncio

    from bot.cli import parser as cli
    from bot.config import EXAMPLE_CONFIG

    monkeypatch.setenv("QIHU_DATABASE__URL", app.settings.database.url)
    bad = tmp_path / "bad.csv"
    bad.write_text("单位,期间,得分,来源\n供电公司,2026Q4,88,第三方机构\n火星局,2026Q4,90,第三方机构\n"
                   "税务局,2026Q9,80,第三方机构\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "import", "third-party", str(bad)])
    out = capsys.readouterr()
    assert "第 3 行" in out.out + out.err and "火星局" in out.out + out.err
    async with app.database.engine.connect() as conn:
        assert (await conn.execute(select(t.third_party_scores))).all() == []
    good = tmp_path / "good.csv"
    good.write_text("单位,期间,得分,来源\n供电公司,2026Q4,88,第三方机构\n税务局,2026Q4,91.5,第三方机构\n",
                    encoding="utf-8")
    await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "import", "third-party", str(good)])
    async with app.database.engine.connect() as conn:
        rows = (await conn.execute(select(t.third_party_scores.c.unit_id, t.third_party_scores.c.score)
                                   .order_by(t.third_party_scores.c.unit_id))).all()
    assert [tuple(r) for r in rows] == [("gdgs", 88.0), ("swj", 91.5)]


async def test_a_period_report_reads_only_that_period_and_gets_the_full_reads_figures(app, chat, clock):
    from bot.services.kpi import compute, parse_period
    november, *_ = await resolved_appeal(app, chat, clock)
    await chat.say(f"评价 {november} 4")
    await chat.say("1")
    await chat.say("办得不错")
    assert "已闭环" in await chat.say("已解决")
    clock.advance(days=10)  # December: another enterprise's appeal goes round the loop
    other = Chat(app, "ent-dec")
    december = await file_first_appeal(other)
    li = await bind_staff(app, "staff:li", "li-gdgs")
    await (await bind_staff(app, "staff:chen", "chen-dispatch")).say(f"分派 {december} 供电公司")
    assert "已签收" in await li.say(f"签收 {december}")
    assert "已办结" in await li.say(f"办结 {december} 已解决 已完成增容，变压器已送电")
    assert "标签" in await other.say(f"评价 {december} 5")
    await other.say("1")
    await other.say("很好")
    assert "已闭环" in await other.say("已解决")
    now = clock.now()
    async with app.runtime.uow() as uow:
        everything = await uow.evaluation.snapshot()
        # November's lead spell falls due on 2 December: December's on-time cohort. December's falls
        # due on 11 December, in week 50, where November's appeal has nothing.
        for label, expected in (("2026-11", {november}), ("2026-12", {november, december}),
                                ("2026W50", {december}), ("2027-01", set())):
            period = parse_period(label, app.runtime.tz)
            scoped = await uow.evaluation.snapshot(since=period.start, until=period.end)
            assert {a.number for a in scoped.appeals} == expected, label
            policy = app.runtime.policy.evaluation
            assert compute(scoped, period, now, policy) == compute(everything, period, now, policy)
    assert {a.number for a in everything.appeals} == {november, december}
