"""Quality on real government appeals (../shared/data, evaluation only): skipped when absent."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from benchmarks.similar_bench import near_duplicate
from nlp.learn import ONE_CHAR_TERMS, LearnOptions, read_csv
from nlp.measure import cross_validate
from nlp.similarity import rank_similar
from tests.conftest import ROOT

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c-train.csv"
# measured 0.7915 / 0.9334 / 0.0486 / 0.8852 (docs/tags.md), less a margin for run-to-run change
ACCURACY_FLOOR, TOP3_FLOOR, ECE_CEILING, COVERAGE_FLOOR = 0.78, 0.92, 0.06, 0.87
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"labelled data absent: {DATA} (see ../shared/data/README)")


def test_unlimited_character_rules_keep_their_accuracy_in_5_fold_cross_validation():
    """The old unreadable rules (every character a candidate, 2,000 words a category) stay available."""
    report = cross_validate(read_csv(DATA), 5, LearnOptions(single_chars=True, max_keywords=0, calibration_folds=0))
    assert report.n == 2461 and len(report.per_class) == 7
    assert report.accuracy >= 0.90, report.as_text()
    assert report.top3_accuracy >= 0.98, report.as_text()


def test_compact_whole_word_rules_in_5_fold_cross_validation():
    """Defaults: 150 words a category, no single characters but the short list, calibrated probabilities.

    The issue's goals (accuracy ≥ 0.92, top-3 ≥ 0.99, ECE ≤ 0.05, accuracy at 80 % coverage ≥ 0.97) are
    not all met yet: the floors below are what was measured (docs/tags.md), so a change that loses
    accuracy fails here."""
    report = cross_validate(read_csv(DATA), 5, LearnOptions())
    x = report.as_json()
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
