"""Seed enterprise rules: realistic enterprise appeals get the right category in the top 3."""

from __future__ import annotations

import pytest

from tests.conftest import shared_tagger

# (text an enterprise might send, expected category, expected type)
APPEALS = [
    ("我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复，影响投产", "水电气能源", "求助"),
    ("园区这周已经停电三次了，每次都没有提前通知，设备损坏严重", "水电气能源", "求助"),
    ("去年申报的技改补贴至今没有拨付到账，请帮忙催一下财政", "政策兑现", "求助"),
    ("请问今年高新技术企业认定的申报条件有哪些变化？", "政策咨询", "咨询"),
    ("企业想扩大生产，银行续贷审批太严，流动资金周转困难，希望协调融资", "融资信贷", "求助"),
    ("厂里招工难，普工缺口五十人，能否帮忙对接劳务市场和职业学校", "用工人才", "求助"),
    ("项目地块的土地证一直办不下来，标准厂房无法开工", "用地厂房", "求助"),
    ("食品经营许可证延续办理要求的材料太多，窗口来回跑了三次", "审批证照", "求助"),
    ("客户拖欠我们货款八十万元已经一年，想请政府帮忙追讨", "法律纠纷·账款拖欠", "求助"),
    ("隔壁化工厂晚上排放废气，异味很重，影响我们员工正常工作", "环境保护", "求助"),
    ("出口退税办理时间太长，资金压力很大，能否加快", "税费", "咨询"),
    ("工业园区门口路灯坏了两个月，晚上员工下班很不安全", "基础设施", "求助"),
    ("园区道路限行，货车进出不方便，物流成本增加", "交通物流", "求助"),
    ("我们的产品商标被人仿冒，在网上低价销售，怎么维权", "知识产权", "咨询"),
    ("建议市场监管部门加强对假冒产品的抽检", "市场监管", "建议"),
    ("厂区消防设施验收后仍有安全隐患，希望应急部门上门指导", "安全生产", "求助"),
    ("投诉某部门工作人员办事推诿，审批材料一拖再拖", "审批证照", "投诉"),
]


@pytest.mark.parametrize(("text", "category", "kind"), APPEALS, ids=[a[1] for a in APPEALS])
def test_category_in_top3_with_evidence(text, category, kind):
    tagger = shared_tagger()
    suggestions = tagger.suggest(text)
    labels = [s.label for s in suggestions]
    assert category in labels, f"{category} not in {labels}"
    hit = suggestions[labels.index(category)]
    assert hit.evidence and all(word in text for word in hit.evidence)
    assert tagger.classify_type(text).label == kind


def test_no_rule_fires_on_small_talk():
    assert shared_tagger().suggest("你好，在吗") == []


def test_categories_come_from_the_rules_file(tmp_path):
    from nlp.rules import KeywordRules, RuleTagger

    path = tmp_path / "rules.toml"
    path.write_text('version = "t1"\n[categories."绿化"]\nkeywords = { "树木" = 2.0 }\n', encoding="utf-8")
    tagger = RuleTagger(KeywordRules.load(path))
    assert tagger.categories == ["绿化"]
    assert [s.label for s in tagger.suggest("小区门口的树木倒了")] == ["绿化"]


def test_a_hint_with_words_of_two_levels_gives_way_to_the_default_and_says_how_sure_it_was():
    tagger = shared_tagger()
    clear = tagger.classify_level("跨县的产业链配套问题")
    assert clear.label == "市级" and clear.evidence == ("跨县", "产业链") and clear.probability > 0.9
    torn = tagger.classify_level("跨区的问题，村委也说不清")  # 市级 2.5 against 乡级 2.5
    assert torn.label == "县级" and torn.evidence == () and torn.probability < tagger.confidence_threshold
    hard = tagger.classify_difficulty("这个问题涉及多个部门，需要联合处理")
    assert hard.label == "复杂" and hard.evidence == ("多个部门", "联合")


def test_explanations_are_whole_words_that_favour_the_label_over_its_rival():
    from nlp.rules import KeywordRules, RuleTagger
    rules = KeywordRules.parse(
        '[scoring]\nmatch = "substring"\n'
        '[categories."环境保护".keywords]\n"垃圾分类" = 4.0\n"垃圾" = 3.0\n"污" = 2.0\n"噪音" = 2.0\n"小区" = 1.0\n'
        '[categories."城乡建设".keywords]\n"小区" = 3.0\n"道路" = 1.0\n')
    top = RuleTagger(rules).suggest("小区垃圾分类没人管，噪音和污水也很严重")[0]
    assert top.label == "环境保护"
    # 污 is one character, 垃圾 is inside the shown 垃圾分类, 小区 pushes the rival 城乡建设 more
    assert top.evidence == ("垃圾分类", "噪音")
