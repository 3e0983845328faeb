"""Quality on real government appeals (../shared/data, evaluation only): skipped when absent."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from benchmarks.similar_bench import near_duplicate
from nlp.learn import ONE_CHAR_TERMS, Corpus, LearnOptions, learn_rules, read_csv, stratified_folds
from nlp.measure import Report, evaluate
from nlp.rules import KeywordRules
from nlp.rules_toml import dump_rules
from nlp.similarity import rank_similar
from nlp.tokenizer import Tokenizer
from tests.conftest import ROOT

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c-train.csv"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"labelled data absent: {DATA} (see ../shared/data/README)")
# One fold of the five (the first; learning with its inner calibration folds takes ~30 s of CPU, five folds
# take minutes): measured 0.8763 / top-3 0.9878 / ECE 0.0360 / 0.9442 at 80 % coverage, less a margin for
# run-to-run change. The 5-fold figures and the size–accuracy curve are in docs/tags.md.
ACCURACY_FLOOR, TOP3_FLOOR, ECE_CEILING, COVERAGE_FLOOR = 0.86, 0.975, 0.06, 0.925


def first_fold(options: LearnOptions) -> Report:
    """Learn on four folds, measure the written-and-reread rule file on the fifth."""
    examples = read_csv(DATA)
    test = set(stratified_folds([e.label for e in examples], 5, options.seed)[0])
    corpus = Corpus.build(examples, Tokenizer(), options)
    learned = learn_rules(corpus, [i for i in range(len(examples)) if i not in test], options)
    return evaluate(KeywordRules.parse(dump_rules(learned)), [examples[i] for i in sorted(test)])


def test_compact_whole_word_rules_on_one_fold():
    """Defaults: 150 words a category, no single characters but the short list, calibrated probabilities.

    The issue's goals (5-fold accuracy ≥ 0.92, top-3 ≥ 0.99, accuracy at 80 % coverage ≥ 0.97) are not
    met (docs/tags.md); the floors are what was measured, so a change that loses accuracy fails here."""
    report = first_fold(LearnOptions())
    x = report.as_json()
    assert report.n == 493 and len(report.per_class) == 7
    assert x["mean_keywords_per_category"] <= 150
    assert x["single_char_keywords"] <= len(ONE_CHAR_TERMS)
    assert report.accuracy >= ACCURACY_FLOOR, report.as_text()
    assert report.top3_accuracy >= TOP3_FLOOR, report.as_text()
    assert x["ece"] <= ECE_CEILING, report.as_text()
    assert x["accuracy_at_80_coverage"] >= COVERAGE_FLOOR, report.as_text()


def test_similar_appeal_detection_is_precise_on_near_duplicates():
    examples = read_csv(DATA)
    by_label = defaultdict(list)
    for i, e in enumerate(examples):
        by_label[e.label].append(i)
    rnd = random.Random(11)
    offered = right = wrong_new = 0
    picks = rnd.sample(range(len(examples)), 200)
    for i in picks:
        others = rnd.sample([j for j in by_label[examples[i].label] if j != i], 4)
        pool = [(str(j), examples[j].text) for j in [i, *others]]
        hits = rank_similar(near_duplicate(examples[i].text, rnd), pool, threshold=0.3)
        offered += len(hits)
        right += sum(h.key == str(i) for h in hits)
        fresh = rnd.choice([j for j in by_label[examples[i].label] if j not in others and j != i])
        wrong_new += bool(rank_similar(near_duplicate(examples[fresh].text, rnd), pool[1:], threshold=0.3))
    assert right / offered >= 0.95  # precision of what is offered as "the same matter"
    assert right / len(picks) >= 0.95  # recall
    assert wrong_new / len(picks) <= 0.05
