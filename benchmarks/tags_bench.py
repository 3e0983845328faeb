"""Tagging throughput on 300-character appeals, against jieba.lcut measured in the same run."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.learn import Corpus, LearnOptions, learn_rules, read_csv  # noqa: E402
from nlp.rules import KeywordRules, RuleTagger  # noqa: E402
from nlp.rules_toml import dump_rules  # noqa: E402
from nlp.tokenizer import Tokenizer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c-train.csv"


def texts_of_300(examples: list, n: int) -> list[str]:
    """n texts of exactly 300 characters: appeals of 300+ characters cut, shorter ones joined."""
    out, buf = [], ""
    for e in examples:
        buf += e.text
        while len(buf) >= 300 and len(out) < n:
            out.append(buf[:300])
            buf = buf[300:] if len(e.text) < 300 else ""
        if len(out) >= n:
            break
    return out


def best_rate(fn, texts: list[str], repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Texts per second, best of `repeats` passes (the machine drifts; the best pass is the least disturbed)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for t in texts:
            fn(t)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--rules", help="learned rules to measure (default: learn them from --data first)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--calibration-folds", type=int, default=3, help="0: skip calibration (a quick smoke run)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", help="write the results as JSON here too")
    args = ap.parse_args()
    if not Path(args.data).exists():
        raise SystemExit(f"skipped: {args.data} is absent (labelled data lives in ../shared/data/)")
    examples = read_csv(args.data)
    texts = texts_of_300(examples, args.n)
    tokenizer = Tokenizer()
    tokenizer.load()
    if args.rules:
        learned = KeywordRules.load(args.rules)
    else:
        options = LearnOptions(calibration_folds=args.calibration_folds)
        corpus = Corpus.build(examples, tokenizer, options)
        learned = KeywordRules.parse(dump_rules(learn_rules(corpus, options=options)))
        if not learned.scoring.temperature:  # probabilities cost the same whatever the temperature
            learned.scoring = replace(learned.scoring, temperature=1.0)
    tagger = RuleTagger(learned, tokenizer)
    seed = RuleTagger(KeywordRules.load(), tokenizer)
    lcut = tokenizer._jieba.lcut
    rates = {
        "jieba_lcut_hmm_off (baseline)": best_rate(lambda t: lcut(t, HMM=False), texts, args.repeats),
        "learned_rules_rank": best_rate(tagger.rank, texts, args.repeats),
        "learned_rules_suggest_top3_with_evidence": best_rate(tagger.suggest, texts, args.repeats),
        "seed_rules_suggest_top3_with_evidence": best_rate(seed.suggest, texts, args.repeats),
    }
    base = rates["jieba_lcut_hmm_off (baseline)"]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
        "machine": platform.machine(), "texts": len(texts), "chars_per_text": 300,
        "learned_keywords": sum(len(t) for t in learned.categories.values()),
        "rates_texts_per_second": {k: round(v) for k, v in rates.items()},
        "ratio_to_lcut": {k: round(v / base, 2) for k, v in rates.items()},
    }
    print(f"{len(texts)} texts of 300 characters, one core, best of {args.repeats}")
    for k, v in rates.items():
        print(f"{k:<44} {v:>8,.0f} texts/s  {v * 300:>11,.0f} chars/s  ×{v / base:.2f} of lcut")
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
