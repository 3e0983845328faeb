"""Learning rules from labelled texts, the metrics, and the `qihu tags` commands on a small CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.cli.parser import main
from nlp.learn import Corpus, Example, LearnOptions, learn_rules, stratified_folds
from nlp.measure import score
from nlp.rules import KeywordRules, RuleTagger
from nlp.rules_toml import dump_rules
from tests.conftest import shared_tagger

# Small labelled history written for this test: three categories, varied wording.
HISTORY = {
    "水电": ["厂区经常停电，变压器容量不够", "申请用电增容很久没有答复", "天然气供气压力不足影响生产",
             "园区停水两天，供水管道维修", "电压不稳设备跳闸", "燃气开户一直没有通气", "供电线路老化经常停电",
             "电费计算有误请核实", "蒸汽价格太高能耗成本大", "光伏并网申请电网没批"],
    "用工": ["缺工严重招不到技工", "想请人社局组织招聘会", "员工培训补贴怎么申请", "人才公寓排不上号",
             "车间工人流失严重", "技术人才子女入学难", "劳务派遣员工质量差", "职称评审在哪里申报",
             "招聘大学生有没有补贴", "旺季用工缺口一百人"],
    "税费": ["出口退税办理太慢", "增值税留抵退税条件", "所得税汇算清缴有疑问", "发票系统出问题开不了票",
             "纳税信用等级被评为C级", "小规模纳税人减税政策", "房产税能否减免", "电子税务局报税卡顿",
             "滞纳金能否免除", "跨区域经营税收预缴"],
}


def examples() -> list[Example]:
    return [Example(text, label) for label, texts in HISTORY.items() for text in texts]


def test_learned_rules_are_readable_weighted_keywords_that_tag_their_own_history():
    exs = examples()
    tok = shared_tagger().tokenizer
    rules = learn_rules(Corpus.build(exs, tok, LearnOptions(min_df=1)), options=LearnOptions(min_df=1))
    assert list(rules.categories) == sorted(HISTORY)  # the category set comes from the data
    assert rules.scoring.match == "substring" and rules.scoring.normalize
    text = dump_rules(rules, "learned in a test")
    assert text.startswith("# learned in a test")
    assert '[categories."税费".keywords]' in text
    again = KeywordRules.parse(text)
    tagger = RuleTagger(again)
    right = sum(tagger.rank(e.text)[0] == e.label for e in exs)
    assert right >= 28
    top = tagger.suggest("出口退税一直没到账")[0]
    assert top.label == "税费" and "退税" in "".join(top.evidence)
    # strongest words are written first in each table
    weights = list(again.categories["水电"].values())
    assert weights == sorted(weights, reverse=True)


def test_hand_written_rules_merge_into_learned_ones():
    hand = KeywordRules.parse('[categories."知识产权"]\nkeywords = { "专利" = 5.0 }\n')
    tok = shared_tagger().tokenizer
    opts = LearnOptions(min_df=1)
    rules = learn_rules(Corpus.build(examples(), tok, opts), options=opts, base=hand)
    assert "知识产权" in rules.categories
    assert RuleTagger(rules).suggest("我们的专利被侵权")[0].label == "知识产权"


def test_metrics_on_known_predictions():
    golds = ["a", "a", "b", "c"]
    ranks = [["a", "b", "c"], ["b", "a", "c"], ["b", "a", "c"], ["a", "b", "c"]]
    r = score(golds, ranks)
    assert r.n == 4 and r.accuracy == 0.5 and r.top3_accuracy == 1.0
    assert r.per_class["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r.per_class["b"]["precision"] == 0.5 and r.per_class["b"]["recall"] == 1.0
    assert r.per_class["c"]["recall"] == 0.0
    assert abs(r.macro_f1 - (0.5 + 2 / 3 + 0) / 3) < 1e-9
    assert r.confusion["a"] == {"a": 1, "b": 1, "c": 0}


def test_stratified_folds_cover_every_text_once_and_spread_labels():
    labels = ["x"] * 10 + ["y"] * 5
    folds = stratified_folds(labels, 5)
    assert sorted(i for f in folds for i in f) == list(range(15))
    assert all(sum(labels[i] == "y" for i in f) == 1 for f in folds)


@pytest.fixture
def history_csv(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["正文", "类别"])
        for e in examples():
            w.writerow([e.text, e.label])
    return path


def test_cli_learn_then_eval_json(history_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "rules.toml"
    main(["tags", "learn", "--data", str(history_csv), "--text-column", "正文", "--label-column", "类别",
          "--out", str(out), "--min-df", "1"])
    assert "learned from 30 texts, 3 categories" in capsys.readouterr().out
    main(["tags", "eval", "--rules", str(out), "--data", str(history_csv), "--text-column", "正文",
          "--label-column", "类别", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 30 and report["accuracy"] >= 0.9 and report["top3_accuracy"] == 1.0
    assert set(report["per_class"]) == set(HISTORY) and "macro_f1" in report
    main(["tags", "eval", "--data", str(history_csv), "--text-column", "正文", "--label-column", "类别",
          "--folds", "5", "--min-df", "1"])
    text = capsys.readouterr().out
    assert "5-fold cross-validation" in text and "macro-F1" in text and "confusion" in text


def test_cli_names_a_missing_column(history_csv: Path, tmp_path: Path):
    with pytest.raises(SystemExit, match="column 'text'"):
        main(["tags", "learn", "--data", str(history_csv), "--out", str(tmp_path / "x.toml")])


def test_the_server_imports_neither_numpy_nor_the_learner():
    import subprocess
    import sys

    code = ("import sys, bot.server, bot.bootstrap, handlers.router; "
            "print(sorted(m for m in ('numpy', 'nlp.learn', 'jieba.analyse', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_calibration_metrics_on_known_probabilities():
    from nlp.learn import fit_temperature
    from nlp.measure import calibration
    # 10 suggestions at 0.95 of which 9 right, 10 at 0.55 of which 6 right
    cal = calibration([0.95] * 10 + [0.55] * 10, [True] * 9 + [False] + [True] * 6 + [False] * 4)
    assert [(r["n"], r["accuracy"]) for r in cal["reliability"]] == [(10, 0.6), (10, 0.9)]
    assert abs(cal["ece"] - (0.5 * 0.05 + 0.5 * 0.05)) < 1e-9
    assert cal["accuracy_at_80_coverage"] == round(15 / 16, 4)  # the 16 most confident
    import numpy as np
    scores = np.array([[2.0, 0.0]] * 8 + [[0.0, 2.0]] * 2)  # the first label right 8 times in 10
    t = fit_temperature(scores, np.zeros(10, dtype=int))
    assert abs(1 / (1 + np.exp(-2.0 / t)) - 0.8) < 1e-3  # softmax(2/T) becomes 0.8


def test_cli_eval_json_reports_size_and_calibration(history_csv: Path, capsys: pytest.CaptureFixture[str]):
    main(["tags", "eval", "--data", str(history_csv), "--text-column", "正文", "--label-column", "类别",
          "--folds", "5", "--min-df", "1", "--max-keywords", "10", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["mean_keywords_per_category"] <= 10 and report["single_char_keywords"] >= 0
    assert {"ece", "accuracy_at_80_coverage", "reliability"} <= set(report)


def test_nb_svm_fits_every_label_against_the_rest_and_keeps_outside_its_table_at_zero():
    import numpy as np

    from nlp.learn import _Design, _nb_ratios, _nb_svm
    texts = [({"停电", "变压器"}, 0), ({"停电", "电费"}, 0), ({"招聘", "技工"}, 1), ({"招聘", "补贴"}, 1),
             ({"退税", "发票"}, 2), ({"退税", "补贴"}, 2)]
    words = sorted(set().union(*(p for p, _ in texts)))
    x = _Design([(p, set()) for p, _ in texts], words, np.ones(len(words)), 0.0)
    y = np.array([label for _, label in texts])
    weights, biases = _nb_svm(x, y, _nb_ratios(x, y, 3, 1.0), 1.0, 30, 0)
    scores = x.times(weights) + biases
    assert (scores.argmax(1) == y).all()  # each text is ranked under its own label
    assert weights[words.index("停电"), 0] > 0 > weights[words.index("停电"), 1]
    mask = np.zeros((len(words), 3))
    mask[words.index("停电"), 0] = mask[words.index("招聘"), 1] = mask[words.index("退税"), 2] = 1.0
    weights, _ = _nb_svm(x, y, _nb_ratios(x, y, 3, 1.0) * mask, 1.0, 30, 0)
    assert set(zip(*np.nonzero(weights), strict=True)) == {
        (words.index("停电"), 0), (words.index("招聘"), 1), (words.index("退税"), 2)}


def test_a_fragment_of_a_kept_word_stays_only_when_it_also_occurs_on_its_own():
    from nlp.learn import _fragments
    # 退税 occurs only inside 出口退税 (a fragment); 补贴 occurs inside 用工补贴 but also alone in 1 text of 3
    present = [({"出口退税", "退税"}, set())] * 4 + [({"用工补贴", "补贴"}, set())] * 2 + [({"补贴"}, set())]
    kept = [{"出口退税", "退税"}, {"用工补贴", "补贴"}]
    assert _fragments(kept, present, own_share=0.1) == {"退税"}
    assert _fragments(kept, present, own_share=0.5) == {"退税", "补贴"}
