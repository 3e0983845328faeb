"""Precision of similar-appeal detection on near-duplicates made from the labelled appeals."""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.learn import read_csv  # noqa: E402
from nlp.similarity import rank_similar  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c-train.csv"
SENTENCE = re.compile(r"(?<=[。！？；!?;])")
OPENERS = ["补充一下：", "再说一下，", "之前反映的问题，", "", "跟进："]


def near_duplicate(text: str, rnd: random.Random) -> str:
    """A follow-up message about the same matter: a contiguous part of the sentences, with an opener."""
    parts = [p for p in SENTENCE.split(text) if p.strip()]
    if len(parts) <= 2:
        cut = max(20, len(text) // 2)
        start = rnd.randint(0, max(0, len(text) - cut))
        body = text[start:start + cut]
    else:
        n = max(1, round(len(parts) * rnd.uniform(0.3, 0.6)))
        start = rnd.randint(0, len(parts) - n)
        body = "".join(parts[start:start + n])
    return rnd.choice(OPENERS) + body[:200]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--queries", type=int, default=600)
    ap.add_argument("--open", type=int, default=5, help="open appeals of the enterprise (1 original + others)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not Path(args.data).exists():
        raise SystemExit(f"skipped: {args.data} is absent (labelled data lives in ../shared/data/)")
    examples = read_csv(args.data)
    by_label = defaultdict(list)
    for i, e in enumerate(examples):
        by_label[e.label].append(i)
    rnd = random.Random(7)
    picks = rnd.sample(range(len(examples)), min(args.queries, len(examples)))
    thresholds = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    stats = {t: {"tp": 0, "fp": 0, "fn": 0, "new_offered": 0} for t in thresholds}
    top1 = 0
    for i in picks:
        same = [j for j in by_label[examples[i].label] if j != i]
        others = rnd.sample(same, min(args.open - 1, len(same)))  # hardest case: same category
        pool = [(str(j), examples[j].text) for j in [i, *others]]
        query = near_duplicate(examples[i].text, rnd)
        ranked = rank_similar(query, pool)
        top1 += ranked[0].key == str(i)
        # a genuinely new problem of the same category against the same pool without the original
        fresh = rnd.choice([j for j in same if j not in others])
        fresh_ranked = rank_similar(near_duplicate(examples[fresh].text, rnd), pool[1:])
        for t in thresholds:
            offered = [m.key for m in ranked if m.score >= t]
            s = stats[t]
            s["tp"] += str(i) in offered
            s["fn"] += str(i) not in offered
            s["fp"] += sum(k != str(i) for k in offered)
            s["new_offered"] += any(m.score >= t for m in fresh_ranked)
    n = len(picks)
    rows = []
    for t in thresholds:
        s = stats[t]
        offered = s["tp"] + s["fp"]
        rows.append({"threshold": t, "precision": round(s["tp"] / offered, 4) if offered else 1.0,
                     "recall": round(s["tp"] / n, 4), "new_problem_offered_rate": round(s["new_offered"] / n, 4)})
    result = {"queries": n, "open_per_enterprise": args.open, "top1_precision": round(top1 / n, 4),
              "by_threshold": rows}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"near-duplicate queries: {n}, each against {args.open} open appeals of the same category")
    print(f"most similar is the original (precision@1): {result['top1_precision']:.4f}")
    print(f"{'threshold':>9} {'precision':>9} {'recall':>7} {'new problem wrongly offered':>28}")
    for r in rows:
        print(f"{r['threshold']:>9} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['new_problem_offered_rate']:>28.4f}")


if __name__ == "__main__":
    main()
