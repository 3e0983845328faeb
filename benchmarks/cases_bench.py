"""Typical cases offered with an assignment: time per assignment by library size, and how often the
offered cases are of the new appeal's own label (the labelled appeals stand in for a county's library)."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services import cases  # noqa: E402
from bot.services.ports import TypicalCase  # noqa: E402
from nlp.learn import read_csv  # noqa: E402
from nlp.tokenizer import Tokenizer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c-train.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--sizes", default="100,300,1000", help="library sizes to time")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--chars", type=int, default=200, help="appeal text kept per case (a case is one appeal)")
    args = ap.parse_args()
    if not Path(args.data).exists():
        raise SystemExit(f"skipped: {args.data} is absent (labelled data lives in ../shared/data/)")
    examples = read_csv(args.data)
    rnd = random.Random(7)
    rnd.shuffle(examples)
    tokenizer = Tokenizer()
    tokenizer.load()
    rt = SimpleNamespace(tagger=SimpleNamespace(tokenizer=tokenizer))
    at = datetime(2026, 11, 25, tzinfo=UTC)
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        library = [TypicalCase(i, f"C{i:05d}", e.label, e.text[:args.chars], ["unit"], 3, 5, "做法", "x", at, i)
                   for i, e in enumerate(examples[:size])]
        queries = examples[size:size + args.queries]
        cold, warm, offered, same_label, shown = [], [], 0, 0, 0
        for q in queries:
            cases._FINGERPRINTS.clear()
            started = time.perf_counter()
            matches = cases.similar_cases(rt, q.text[:args.chars], q.label, library)  # type: ignore[arg-type]
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            cases.similar_cases(rt, q.text[:args.chars], q.label, library)  # type: ignore[arg-type]
            warm.append(time.perf_counter() - started)
            offered += bool(matches)
            shown += len(matches)
            same_label += sum(m.case.category == q.label for m in matches)
        results.append({
            "library": size, "queries": len(queries),
            "ms_per_assignment_cold": round(1000 * statistics.median(cold), 2),
            "ms_per_assignment_warm": round(1000 * statistics.median(warm), 2),
            "ms_p95_warm": round(1000 * sorted(warm)[int(0.95 * (len(warm) - 1))], 2),
            "assignments_offered_any": round(offered / len(queries), 3),
            "offered_of_same_label": round(same_label / shown, 3) if shown else None,
        })
    print(json.dumps({"chars": args.chars, "by_size": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
