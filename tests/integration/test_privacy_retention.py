"""个人信息保护法: contact data of appeals closed long ago is anonymised while the statistics and the
timeline stay; an enterprise's data can be exported; bad dates and codes are refused with a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.domain.identifiers import uscc_check_char
from bot.messages import ConversationKey
from bot.privacy import PrivacyRefused, parse_before, run_export, run_purge, to_json
from bot.services.kpi import compute, parse_period
from storage import tables as t
from storage.privacy_repository import ANONYMISED
from tests.conftest import ROOT, Chat, bind_staff
from tests.integration.test_filing_dialogue import PROBLEM, USCC, file_first_appeal

OTHER_USCC = "91330825MA2DH4KY0" + uscc_check_char("91330825MA2DH4KY0")


async def closed_appeal_with_personal_data(app, chat: Chat, clock) -> str:  # type: ignore[no-untyped-def]
    """张伟 (138 0013 8000) files, adds another phone, is served, rates and closes it on 26 November."""
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    number = await file_first_appeal(chat)
    assert "已将补充内容记入" in await chat.say(f"补充 {number} 张伟不在时请打 139.1111.3333 或 0571-88886666")
    await dispatcher.say(f"分派 {number} 供电公司")
    await li.say(f"签收 {number}")
    clock.advance(days=1)
    assert "已办结" in await li.say(f"办结 {number} 已解决 已电话联系张伟（13800138000），完成增容")
    await chat.say(f"评价 {number} 5")
    await chat.say("1")
    await chat.say("张伟代表公司感谢，电话１３９１１１１２２２２")
    assert "已闭环" in await chat.say("已解决")
    return number


async def open_appeal_of_another_enterprise(app) -> str:  # type: ignore[no-untyped-def]
    other = Chat(app, "ent-other")
    await other.say(PROBLEM)
    await other.say("另一家机械有限公司")
    await other.say(OTHER_USCC)
    await other.say("李娜")
    await other.say("13912345678")
    await other.say("溪口镇")
    await other.say("1")
    done = await other.say("确认提交")
    return done.split("编号 ")[1].split("。")[0]


async def snapshot_counts(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return {table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (t.appeals, t.appeal_events, t.ratings, t.enterprises, t.identities, t.outbox)}


async def kpis(app):  # type: ignore[no-untyped-def]
    period = parse_period("2026Q4", app.runtime.tz)
    async with app.runtime.uow() as uow:
        snapshot = await uow.evaluation.snapshot()
    report = compute(snapshot, period, app.runtime.now(), app.runtime.policy.evaluation)
    # Every figure and detail row, less the free-text comment (its phones and names are masked).
    return replace(report, rows={k: [{c: v for c, v in row.items() if c != "comment"} for row in rows]
                                 for k, rows in report.rows.items()})


async def test_purge_anonymises_old_closed_appeals_and_keeps_statistics_and_timeline(app, chat, clock):
    old = await closed_appeal_with_personal_data(app, chat, clock)
    still_open = await open_appeal_of_another_enterprise(app)
    clock.advance(days=3 * 365 + 60)  # 2030-01: past the default three years for November 2026
    counts_before, kpis_before = await snapshot_counts(app), await kpis(app)
    async with app.runtime.uow() as uow:
        timeline_before = [(e.action, e.at, e.from_status, e.to_status) for e in await uow.appeals.events(old)]

    before, dry = await run_purge(app, None, dry_run=True)
    assert before == date(2027, 1, 24) and dry.appeals == 1
    async with app.runtime.uow() as uow:
        assert (await uow.appeals.get(old)).contact == "张伟"  # a dry run writes nothing

    before, counts = await run_purge(app, None)
    # 张伟 was the enterprise's first, unverified claimant: his details were on his claim, not the profile.
    assert (counts.appeals, counts.members, counts.enterprises) == (1, 1, 0)
    assert counts.events >= 2 and counts.texts >= 2

    async with app.runtime.uow() as uow:
        purged, kept = await uow.appeals.get(old), await uow.appeals.get(still_open)
        events = await uow.appeals.events(old)
        [rating] = await uow.evaluation.ratings(purged.id)
        first_enterprise = await uow.enterprises.get_by_uscc(USCC)
        second_enterprise = await uow.enterprises.get_by_uscc(OTHER_USCC)
    assert (purged.contact, purged.phone) == (ANONYMISED, "")
    assert (kept.contact, kept.phone) == ("李娜", "13912345678")  # open: untouched
    assert (first_enterprise.contact, first_enterprise.phone) == ("", "")
    assert (second_enterprise.contact, second_enterprise.phone) == ("", "")  # 李娜 is unverified too
    async with app.runtime.uow() as uow:
        first_claim = await uow.enterprises.membership(first_enterprise.id, chat.key)
        second_claim = await uow.enterprises.membership(second_enterprise.id, ConversationKey("web", "ent-other"))
    assert (first_claim.contact, first_claim.phone) == (ANONYMISED, "")
    assert (second_claim.contact, second_claim.phone) == ("李娜", "13912345678")  # open appeal: kept
    # The timeline survives, every step at its time, with the personal data inside it masked.
    assert [(e.action, e.at, e.from_status, e.to_status) for e in events] == timeline_before
    notes = " ".join(e.note for e in events) + purged.resolution + rating.comment
    assert "139****3333" in notes and "0571-****6666" in notes and "138****8000" in notes
    for secret in ("张伟", "1111.3333", "88886666", "13800138000", "１３９１"):
        assert secret not in notes
    assert rating.level == 5 and ANONYMISED in rating.comment
    async with app.database.engine.connect() as conn:
        bodies = json.dumps([r.body for r in await conn.execute(
            select(t.outbox.c.body).where(t.outbox.c.appeal_number == old))], ensure_ascii=False)
    assert "13800138000" not in bodies and "张伟" not in bodies and old in bodies
    # The statistics do not move: same rows, same KPIs.
    assert await snapshot_counts(app) == counts_before
    assert await kpis(app) == kpis_before

    # Again: nothing left to change.
    _, again = await run_purge(app, None)
    assert again.appeals == again.enterprises == again.members == again.events == again.texts == 0

    # The enterprise comes back: its name is remembered, its contact asked for afresh.
    answer = await chat.say(PROBLEM)
    assert "联系人信息已按保存期限清除" in answer and "联系人姓名" in answer and ANONYMISED not in answer


async def test_purge_before_a_date_leaves_later_closures(app, chat, clock):
    old = await closed_appeal_with_personal_data(app, chat, clock)  # closed 2026-11-26
    clock.advance(days=1)
    _, counts = await run_purge(app, "2026-11-26")
    assert counts.appeals == 0
    _, counts = await run_purge(app, "2026-11-27")
    assert counts.appeals == 1
    async with app.runtime.uow() as uow:
        assert (await uow.appeals.get(old)).contact == ANONYMISED


async def test_export_holds_everything_about_the_enterprise_and_its_contacts(app, chat, clock):
    number = await closed_appeal_with_personal_data(app, chat, clock)
    other = await open_appeal_of_another_enterprise(app)
    data = json.loads(to_json(await run_export(app, " 91330825ma2dh4kx39 ")))
    assert data["uscc"] == USCC
    [enterprise] = data["enterprises"]
    assert (enterprise["name"], enterprise["contact"], enterprise["phone"]) == ("示范精密机械有限公司", "", "")
    [claim] = data["members"]  # the filer's own claim carries his contact details
    assert (claim["external_id"], claim["status"], claim["contact"], claim["phone"]) == (
        "ent-1", "unverified", "张伟", "13800138000")
    assert [(i["channel"], i["external_id"]) for i in data["identities"]] == [("web", "ent-1")]
    [appeal] = data["appeals"]
    assert appeal["number"] == number and appeal["status"] == "closed" and other not in json.dumps(data)
    actions = [e["action"] for e in appeal["timeline"]]
    assert actions[0] == "submit" and "supplement" in actions and actions[-1] == "rate_good"
    assert "139.1111.3333" in json.dumps(appeal["timeline"], ensure_ascii=False)
    assert appeal["ratings"][0]["level"] == 5 and appeal["holdings"][0]["unit_id"] == "gdgs"
    assert any("诉求已登记" in m["body"]["text"] for m in data["messages_sent"])
    assert data["conversations"][0]["user_id"] == "ent-1"


async def test_export_of_an_unknown_code_is_none(app):
    assert await run_export(app, "91330825MA2DH4KW0" + uscc_check_char("91330825MA2DH4KW0")) is None


@pytest.mark.parametrize(("text", "reason"), [
    ("2026-02-30", "无法识别，请写成 YYYY-MM-DD"),
    ("30/11/2026", "无法识别"),
    ("2026-11-26", "晚于今天（2026-11-25）"),
])
def test_bad_dates_are_refused_with_the_reason(text, reason):
    with pytest.raises(PrivacyRefused, match=reason.replace("（", ".").replace("）", ".")):
        parse_before(text, date(2026, 11, 25), 3)
    assert parse_before(None, date(2028, 2, 29), 3) == date(2025, 2, 28)


async def test_bad_codes_are_refused_with_the_position(app):
    with pytest.raises(PrivacyRefused, match="第 18 位校验码「T」"):
        await run_export(app, "91330825MA2DH4KX3T")
    with pytest.raises(PrivacyRefused, match="应为 18 位"):
        await run_export(app, "9133")


def test_the_commands_refuse_bad_input_with_one_line_and_exit_2(database_url, tmp_path):
    env = {**os.environ, "QIHU_CONFIG": str(ROOT / "config.example.toml"), "QIHU_DATABASE__URL": database_url}
    for args, reason in [(["purge", "--before", "2026-13-01"], "无法识别"),
                         (["purge", "--before", "2999-01-01"], "晚于今天"),
                         (["export", "--uscc", "91330825MA2DH4KX3T"], "第 18 位校验码")]:
        result = subprocess.run([sys.executable, "-m", "bot", "privacy", *args], cwd=tmp_path, text=True,
                                capture_output=True, env=env, timeout=120)
        assert result.returncode == 2 and reason in result.stderr, result
        assert len(result.stderr.strip().splitlines()) == 1
    exported = subprocess.run([sys.executable, "-m", "bot", "privacy", "export", "--uscc", USCC, "--out",
                               str(tmp_path / "e.json")], cwd=tmp_path, text=True, capture_output=True,
                              env=env, timeout=120)
    assert exported.returncode == 1 and "没有统一社会信用代码为 91330825MA2DH4KX39" in exported.stderr
