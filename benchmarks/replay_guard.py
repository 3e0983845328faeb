"""The DingTalk callback's replay guard (issue 14 §3): turns/s of two source trees, alternately, in one run.

Usage: python -m benchmarks.replay_guard --tree before=/tmp/trust-b-before --tree after=. \\
       [--rounds 3] [--seconds 10] [--concurrency 64] [--users 2000] [--postgres postgresql+asyncpg://…]

Each tree's server (`python -m bot run` with that tree first on the path and its own config.example.toml)
takes the same signed callbacks, each with a (timestamp, sign) pair of its own, from the generator of
this tree (wrk when installed, else the Python one); the bare aiohttp baseline is measured in every round,
so each figure is also a ratio to it. The order of the trees alternates by round."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    free_port,
    machine,
    qihu_env,
    reset_postgres,
    start_baseline,
    start_fake_dingtalk,
    start_qihu,
    wait_ready,
    wrk,
)
from benchmarks.load_dingtalk import stored_counts


def run_tree(tree: Path, database_url: str, seconds: float, concurrency: int, users: int, tag: str) -> dict[str, Any]:
    fake, fake_url = start_fake_dingtalk()
    port = free_port()
    env = qihu_env(database_url, port, fake_url,
                   extra={"QIHU_CONFIG": str(tree / "config.example.toml"), "PYTHONPATH": str(tree)})
    server = start_qihu(env, tree)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        result = wrk(base, seconds, concurrency, fake_url, users, tag)
    finally:
        server.stop()
        fake.stop()
    result["stored_turns"] = asyncio.run(stored_counts(database_url))["inbound_messages"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="name=path of a source tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--postgres", default="", help="a database of your own; its schema is dropped each run")
    args = parser.parse_args()
    trees = [(name, Path(path).resolve()) for name, _, path in (t.partition("=") for t in args.tree)]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            base_proc, base_url = start_baseline()
            try:
                baseline = wrk(base_url, args.seconds, args.concurrency, "http://127.0.0.1:9", args.users, "b")
            finally:
                base_proc.stop()
            order = trees if rnd % 2 == 0 else list(reversed(trees))
            for name, tree in order:
                for db in (["sqlite"] + (["postgresql"] if args.postgres else [])):
                    if db == "postgresql":
                        url = args.postgres
                        asyncio.run(reset_postgres(url))
                    else:
                        url = f"sqlite+aiosqlite:///{tmp}/{name}-{rnd}.db"
                    r = run_tree(tree, url, args.seconds, args.concurrency, args.users, f"{name[:1]}{rnd}{db[:1]}")
                    r |= {"round": rnd, "tree": name, "database": db, "at": time.strftime("%H:%M:%S", time.gmtime()),
                          "baseline_rps": round(baseline["rps"], 1),
                          "ratio_rps": round(r["rps"] / baseline["rps"], 3)}
                    runs.append(r)
                    print(json.dumps({k: r[k] for k in ("round", "tree", "database", "rps", "ratio_rps", "p50_ms",
                                                        "p99_ms", "non_2xx")}), flush=True)
    summary: dict[str, Any] = {}
    for db in sorted({r["database"] for r in runs}):
        for name, _ in trees:
            mine = [r for r in runs if r["database"] == db and r["tree"] == name]
            summary[f"{db}/{name}"] = {"rps": [round(r["rps"], 1) for r in mine],
                                       "ratio_rps": [r["ratio_rps"] for r in mine],
                                       "non_2xx": sum(r["non_2xx"] for r in mine)}
    print(json.dumps({"machine": machine(), "seconds": args.seconds, "concurrency": args.concurrency,
                      "trees": {n: str(p) for n, p in trees}, "summary": summary, "runs": runs},
                     indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
