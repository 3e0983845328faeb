"""Tag corrections, learning from the pool, and similar appeals, on the real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli.parser import main
from bot.domain.errors import NotFound
from bot.services import tagging
from nlp.rules import KeywordRules
from storage import tables as t
from tests.conftest import Chat
from tests.integration.test_filing_dialogue import count, file_first_appeal

SUBSIDY = "去年申报的技改补贴至今没有拨付到账，请帮忙催一下"


async def file_second(chat: Chat, text: str = SUBSIDY) -> str:
    await chat.say("我要反映")
    assert "建议归入" in await chat.say(text)
    await chat.say("1")
    done = await chat.say("1")
    return done.split("编号 ")[1].split("。")[0]


async def test_a_tag_correction_is_stored_with_the_text_and_wins_in_the_pool(app, chat):
    number = await file_first_appeal(chat)
    async with app.runtime.uow() as uow:
        c = await tagging.record_tag_correction(uow, number, "水电气能源", "项目建设", "chen-dispatch",
                                                now=app.runtime.now())
        await uow.commit()
    assert c is not None and c.new_category == "项目建设" and "变压器" in c.text
    assert await count(app, t.tag_corrections) == 1
    async with app.runtime.uow() as uow:
        stored = await uow.tags.list()
        assert (stored[0].appeal_number, stored[0].old_category, stored[0].by_staff_id) == \
            (number, "水电气能源", "chen-dispatch")
        assert stored[0].at == app.runtime.now()
        assert await tagging.pool_examples(uow) == [(c.text, "项目建设")]
        # an unchanged tag records nothing; an unknown appeal is refused
        assert await tagging.record_tag_correction(uow, number, "项目建设", "项目建设", "x", now=app.runtime.now()) \
            is None
        with pytest.raises(NotFound):
            await tagging.record_tag_correction(uow, "QH20990101-0001", None, "税费", "x", now=app.runtime.now())


async def test_learn_from_pool_reads_corrections_from_the_configured_database(app, chat, settings, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch,
                                                                              capsys: pytest.CaptureFixture[str]):
    first = await file_first_appeal(chat)
    second = await file_second(chat)
    async with app.runtime.uow() as uow:
        await tagging.record_tag_correction(uow, first, None, "水电气能源", "d1", now=app.runtime.now())
        await tagging.record_tag_correction(uow, second, "政策咨询", "政策兑现", "d1", now=app.runtime.now())
        await uow.commit()
    monkeypatch.setenv("QIHU_DATABASE__URL", settings.database.url)
    out = tmp_path / "pool.toml"
    await asyncio.to_thread(main, ["tags", "learn", "--from-pool", "--out", str(out), "--min-df", "1"])
    assert "learned from 2 texts, 2 categories" in capsys.readouterr().out
    rules = KeywordRules.load(out)
    assert set(rules.categories) == {"水电气能源", "政策兑现"}
    assert "pool" in str(rules.meta["source"])


async def test_the_similar_open_appeal_is_offered_first_as_a_supplement(app, chat):
    power = await file_first_appeal(chat)
    subsidy = await file_second(chat)
    reply = await chat.say("补贴的事有进展吗，财政说还要审核")
    assert f"是否为对 {subsidy} 的补充" in reply
    assert chat.choice_labels[1].startswith(f"补充到 {subsidy}")
    assert chat.choice_labels[2].startswith(f"补充到 {power}")
    assert "已将补充内容记入诉求" in await chat.say("2")


async def test_a_short_paraphrased_follow_up_is_matched_by_its_matter_words(app, chat):
    power = await file_first_appeal(chat)
    subsidy = await file_second(chat)
    reply = await chat.say("供电所说变压器要排队，能不能加快")
    assert f"是否为对 {power} 的补充" in reply
    assert chat.choice_labels[1].startswith(f"补充到 {power}") and chat.choice_labels[2].startswith(f"补充到 {subsidy}")


async def test_an_unrelated_problem_is_asked_about_without_naming_an_appeal(app, chat):
    await file_first_appeal(chat)
    reply = await chat.say("我们厂门口的路灯坏了一个月了，晚上员工下班很不安全")
    assert "新问题，还是对已有诉求的补充" in reply and "是否为对" not in reply


def test_similarity_pairs_written_for_the_test():
    from nlp.similarity import similarity

    power = "新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复"
    same = [("变压器增容报装的事，供电所还是没有答复", power),
            ("园区门口那段路还是堵，大货车进不来", "园区门口道路太窄，大货车进出经常堵车，希望拓宽道路")]
    different = [("我们厂门口的路灯坏了一个月了", power),
                 ("招工难，想请人社局帮忙组织一次招聘会", "去年申报的技改补贴至今没有拨付到账")]
    assert all(similarity(a, b) >= 0.3 for a, b in same), [similarity(a, b) for a, b in same]
    assert all(similarity(a, b) < 0.3 for a, b in different), [similarity(a, b) for a, b in different]


async def test_common_problems_group_open_appeals_of_different_enterprises(app, chat):
    await file_first_appeal(chat)
    other = Chat(app, "ent-2")
    assert "企业全称" in await other.say("园区这周已经停电三次了，新上的生产线需要增容变压器，供电所一直没有答复")
    await other.say("示范新材料有限公司")
    await other.say("91350100M000100Y43")
    await other.say("李娜")
    await other.say("13900139000")
    await other.say("溪口镇")
    await other.say("1")
    assert "诉求已登记" in await other.say("确认提交")
    await file_second(chat)
    async with app.runtime.uow() as uow:
        groups = await tagging.common_problems(uow)
    assert len(groups) == 1
    g = groups[0]
    assert g.numbers == ("QH20261125-0001", "QH20261125-0002")
    assert set(g.enterprises) == {"示范精密机械有限公司", "示范新材料有限公司"} and g.categories == ("水电气能源",)
