"""Uncertain category suggestions (filing asks, pool flags 类别待确认), learning from closed appeals
after 改类 corrections, and `tags diff` / `tags apply` taken up by the running app without a restart."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.cli.parser import main
from nlp.rules import DEFAULT_RULES, KeywordRules, RuleTagger
from storage import tables as t
from tests.conftest import Chat, bind_staff, shared_tagger, start_app
from tests.integration.test_concurrency import uscc
from tests.integration.test_retag_and_pool import file

LAMP = "厂区门口东路的路灯三盏不亮了，晚上员工下班很不安全"


def seed_with_temperature(temperature: float) -> RuleTagger:
    """The seed rules given a calibration temperature (hand-written rules have none)."""
    rules = KeywordRules.load(DEFAULT_RULES)
    rules.scoring = replace(rules.scoring, temperature=temperature)
    return RuleTagger(rules, shared_tagger().tokenizer)


async def file_until_category(chat: Chat, text: str) -> str:
    await chat.say(text)
    for answer in ("示范精密机械有限公司", uscc(1), "张伟", "13800138000"):
        await chat.say(answer)
    return await chat.say("经济开发区企业社区")


async def test_an_uncertain_suggestion_asks_the_enterprise_to_choose_among_three_none_preferred(app, chat):
    app.runtime.tagger = seed_with_temperature(50.0)  # flat probabilities: every category is a guess
    question = await file_until_category(chat, LAMP)
    assert "不确定您的问题属于哪一类" in question and "建议" not in question
    assert len(chat.choice_labels) == 4 and chat.choice_labels[-1] == "其他类别…"
    assert chat.choice_labels[0].startswith("基础设施（依据：路灯")
    second = chat.choice_labels[1].split("（")[0]
    summary = await chat.say("2")  # the enterprise picks the second: nothing was chosen for it
    assert "请确认" in summary
    done = await chat.say("确认提交")
    number = done.split("编号 ")[1].split("。")[0]
    async with app.runtime.uow() as uow:
        assert (await uow.appeals.get(number)).category == second
    dispatcher = await bind_staff(app, "staff:chen-dispatch", "chen-dispatch")
    view = await dispatcher.say("待分派")
    assert "类别待确认" in view and number in view


async def test_a_confident_suggestion_is_offered_as_before_and_the_pool_does_not_flag_it(app, chat):
    app.runtime.tagger = seed_with_temperature(0.5)
    question = await file_until_category(chat, LAMP)
    assert "建议归入" in question and "不确定" not in question
    await chat.say("1")
    await chat.say("确认提交")
    dispatcher = await bind_staff(app, "staff:chen-dispatch", "chen-dispatch")
    view = await dispatcher.say("待分派")
    assert "基础设施" in view and "类别待确认" not in view


def config_file(tmp_path: Path, database_url: str, rules: Path) -> Path:
    path = tmp_path / "qihu.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n[nlp]\nrules_file = "{rules}"\n', encoding="utf-8")
    return path


async def test_thirty_corrections_then_relearn_from_db_and_apply_change_the_running_suggestion(
        settings, clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    rules_file = tmp_path / "county_rules.toml"
    rules_file.write_text(DEFAULT_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    settings = settings.model_copy(update={"nlp": settings.nlp.model_copy(update={"rules_file": str(rules_file)})})
    app = await start_app(settings, clock, tagger=None)  # the app's own tagger, watching the county's file
    try:
        assert app.runtime.tagger.suggest(LAMP)[0].label == "基础设施"
        dispatcher = await bind_staff(app, "staff:chen-dispatch", "chen-dispatch")
        roads = ["东", "西", "南", "北", "纬一", "纬二", "经三", "经四", "滨江", "园区"]
        lamps, grants = [], []
        for i in range(30):
            text = f"厂区门口{roads[i % 10]}路的路灯{i % 4 + 2}盏不亮了，晚上员工下班很不安全，已经坏了{i % 5 + 1}周"
            lamps.append(await file(Chat(app, f"lamp-{i}"), i, text))
        for i in range(20):
            text = f"去年申报的技改补贴{i + 10}万元至今没有拨付到账，请帮忙催一下财政，第{i + 1}次反映"
            grants.append(await file(Chat(app, f"grant-{i}"), 40 + i, text))
        for number in lamps:  # the county's dispatchers: street lamps belong to the power supplier
            assert "更正为「水电气能源」" in await dispatcher.say(f"改类 {number} 水电气能源")
        async with app.database.engine.begin() as conn:  # these appeals went through their handling and were closed
            await conn.execute(update(t.appeals).where(t.appeals.c.number.in_(lamps + grants))
                               .values(status="closed"))
        config = config_file(tmp_path, settings.database.url, rules_file)
        learned = tmp_path / "learned.toml"
        await asyncio.to_thread(main, ["--config", str(config), "tags", "learn", "--from-db", "--min-count", "10",
                                       "--out", str(learned)])
        assert "learned from 50 texts" in capsys.readouterr().out
        await asyncio.to_thread(main, ["tags", "diff", str(rules_file), str(learned)])
        changes = capsys.readouterr().out
        assert "「水电气能源」新增关键词：" in changes and "路灯" in changes.split("「水电气能源」新增关键词：")[1]
        await asyncio.to_thread(main, ["--config", str(config), "tags", "apply", str(learned)])
        out = capsys.readouterr().out
        assert "backup:" in out and list(tmp_path.glob("county_rules.toml.*.bak"))
        # the running app takes the new file up with the next message, no restart
        new_appeal = Chat(app, "lamp-new")
        await new_appeal.say("我们厂区门口南路的路灯都不亮了，晚上很不安全")
        assert app.runtime.tagger.suggest(LAMP)[0].label == "水电气能源"
        assert "路灯" in app.runtime.tagger.suggest("园区的路灯坏了好几盏")[0].evidence
    finally:
        await app.close()


def test_apply_refuses_when_the_seed_rules_are_in_use(tmp_path: Path, settings):
    path = tmp_path / "qihu.toml"
    path.write_text(f'[database]\nurl = "{settings.database.url}"\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="rules_file is empty"):
        main(["--config", str(path), "tags", "apply", str(DEFAULT_RULES)])
