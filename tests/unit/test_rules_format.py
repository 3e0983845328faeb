"""The rules format: matching modes, negatives, co-occurrence, priors, head boost, hints, merging."""

from __future__ import annotations

from nlp.rules import KeywordRules, RuleTagger, SubstringMatcher
from nlp.rules_toml import dump_rules

RULES = """
version = "t-1"
[scoring]
match = "substring"
[dictionary]
words = ["园区配套"]
[types]
default = "求助"
[types."咨询".keywords]
"请问" = 2.0
[levels]
default = "县级"
[levels."市级".keywords]
"跨县" = 3.0
[difficulty]
default = "一般"
[difficulty."复杂".keywords]
"多个部门" = 3.0
[categories."税费"]
keywords = { "退税" = 3.0, "发票" = 2.0 }
[categories."融资信贷"]
keywords = { "贷款" = 3.0, "银行" = 1.0 }
negative = { "退税" = 2.0 }
together = [{ words = ["银行", "抽贷"], weight = 4.0 }]
[categories."用地厂房"]
keywords = { "厂房" = 2.0 }
"""


def tagger(text: str = RULES) -> RuleTagger:
    return RuleTagger(KeywordRules.parse(text))


def test_categories_come_from_the_file_in_file_order():
    assert tagger().categories == ["税费", "融资信贷", "用地厂房"]


def test_substring_mode_finds_keywords_inside_compounds():
    s = tagger().suggest("出口退税迟迟没有到账")
    assert s[0].label == "税费" and s[0].evidence == ("退税",)


def test_negative_words_subtract_and_co_occurrence_adds():
    t = tagger()
    plain = {s.label: s.score for s in t.suggest("银行贷款 退税")}
    assert plain["融资信贷"] == 3.0 + 1.0 - 2.0
    s = {x.label: x for x in t.suggest("银行突然抽贷")}
    assert s["融资信贷"].score == 1.0 + 4.0
    assert "银行+抽贷" in s["融资信贷"].evidence


def test_no_rule_fires_gives_no_suggestion():
    assert tagger().suggest("今天天气不错") == []
    assert tagger().rank("今天天气不错") == ["税费", "融资信贷", "用地厂房"]


def test_type_level_and_difficulty_hints_with_defaults():
    t = tagger()
    assert t.classify_type("请问发票怎么开").label == "咨询"
    assert t.classify_type("发票开不出来").label == "求助"
    assert t.classify_level("这是跨县的问题").label == "市级"
    assert t.classify_level("厂房漏水").label == "县级"
    hint = t.classify_difficulty("涉及多个部门")
    assert hint.label == "复杂" and hint.evidence == ("多个部门",)


def test_token_mode_matches_short_keywords_only_as_whole_tokens():
    t = tagger(RULES.replace('match = "substring"', 'match = "token"'))
    t.tokenizer.load()
    assert t.suggest("退税没有到账")[0].label == "税费"
    assert t.suggest("工厂房间")[0].label != "用地厂房" if t.suggest("工厂房间") else True


def test_priors_head_boost_and_normalization():
    text = """
version = "t-2"
[scoring]
match = "substring"
head_chars = 4
head_boost = 1.0
normalize = true
[categories."A"]
prior = 0.5
keywords = { "道路" = 1.0 }
[categories."B"]
prior = 0.0
keywords = { "学校" = 1.0 }
[idf]
"道路" = 1.0
"学校" = 1.0
"""
    t = tagger(text)
    # 学校 in the head counts twice: norm = sqrt(2² + 1²); A = 0.5 + 1/√5, B = 2/√5
    s = {x.label: x.score for x in t.suggest("学校门口道路坏了")}
    assert abs(s["A"] - (0.5 + 1 / 5 ** 0.5)) < 1e-3 and abs(s["B"] - 2 / 5 ** 0.5) < 1e-3
    assert t.rank("学校门口道路坏了")[0] == "A"


def test_merge_adds_weights_and_unites_categories():
    hand = KeywordRules.parse("""
[categories."税费"]
keywords = { "发票" = 1.0, "税务" = 3.0 }
[categories."知识产权"]
keywords = { "专利" = 3.0 }
""")
    merged = KeywordRules.parse(RULES).merge(hand)
    assert merged.categories["税费"] == {"退税": 3.0, "发票": 3.0, "税务": 3.0}
    assert list(merged.categories) == ["税费", "融资信贷", "用地厂房", "知识产权"]
    assert merged.scoring.match == "substring"


def test_dump_and_parse_round_trip_keeps_every_rule():
    rules = KeywordRules.parse(RULES)
    again = KeywordRules.parse(dump_rules(rules, "header line"))
    assert again.categories == rules.categories and again.negatives == rules.negatives
    assert again.together == rules.together and again.types == rules.types
    assert again.levels == rules.levels and again.difficulties == rules.difficulties
    assert again.user_words == rules.user_words and again.scoring == rules.scoring


def test_substring_matcher_finds_nested_and_overlapping_words():
    m = SubstringMatcher(["出口", "出口退税", "退税", "税", "口退"])
    assert m.find("申请出口退税") == {"出口", "出口退税", "退税", "税", "口退"}
    assert m.find("申请出口退税", limit=4) == {"出口"}
    assert m.find("") == set()


def test_substring_rules_tag_without_loading_jieba():
    fresh = RuleTagger(KeywordRules.load())  # the seed rules
    assert fresh.suggest("变压器增容报装两个月没有答复")[0].label == "水电气能源"
    assert not fresh.tokenizer.ready  # no 1.2 s dictionary load in a turn
