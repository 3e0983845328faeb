"""The turn's statements alone (open, close with one outbox row, commit) at concurrency 64, in process,
against two source trees run alternately: a before/after comparison that the HTTP stack's noise cannot blur.

Usage: python benchmarks/turn_store.py --tree before=/tmp/old-checkout --tree after=. [--rounds 4]
       [--seconds 4] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/qihu_wt8_bench]

Each round runs every tree once per database, in alternating order, each in a fresh process on a fresh
database (the tree's own storage package, by PYTHONPATH); it prints one JSON line per run and a summary."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


async def measure(url: str, seconds: float, concurrency: int, users: int) -> dict[str, float]:
    """Run in the child: whatever `storage` PYTHONPATH names."""
    from bot.messages import ConversationKey, OutboundMessage
    from storage.engine import create_engine
    from storage.migrate import upgrade_async
    from storage.unit_of_work import uow_factory

    if url.startswith("postgresql"):
        from benchmarks.common import reset_postgres
        await reset_postgres(url)
    await upgrade_async(url)
    engine = create_engine(url, pool_size=10)
    uow = uow_factory(engine)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    done = 0
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def person(worker: int) -> None:
        nonlocal done
        n = 0
        while time.monotonic() < stop:
            key = ConversationKey("web", f"ent-{(worker + n * concurrency) % users}")
            started = time.perf_counter()
            async with uow() as u:
                opened = await u.turns.open(key, f"{worker}-{n}", now)
                assert opened is not None
                state = opened.state
                state.step, state.updated_at = "idle", now
                await u.turns.close(key, state, [OutboundMessage(key, "您好", [], None, {})], now)
                await u.commit()
            latencies.append(time.perf_counter() - started)
            n += 1
            done += 1

    began = time.monotonic()
    await asyncio.gather(*(person(w) for w in range(concurrency)))
    elapsed = time.monotonic() - began
    group = getattr(uow, "group", None)
    if group is not None:
        await group.close()
    await engine.dispose()
    latencies.sort()
    return {"turns": done, "turns_per_second": round(done / elapsed, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2)}


def child(args: argparse.Namespace) -> None:
    print(json.dumps(asyncio.run(measure(args.url, args.seconds, args.concurrency, args.users))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], help="label=path of a source tree")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--postgres", default="", help="a database of your own; its schema is dropped first")
    parser.add_argument("--url", help=argparse.SUPPRESS)  # the child's database
    args = parser.parse_args()
    if args.url:
        child(args)
        return
    trees = [(label, Path(path).resolve()) for label, path in (t.split("=", 1) for t in args.tree)]
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            order = trees if round_ % 2 == 0 else trees[::-1]
            for database in ["sqlite"] + (["postgresql"] if args.postgres else []):
                for label, tree in order:
                    url = args.postgres if database == "postgresql" else f"sqlite+aiosqlite:///{tmp}/{label}-{round_}.db"
                    out = subprocess.run(
                        [sys.executable, str(Path(__file__).resolve()), "--url", url, "--seconds", str(args.seconds),
                         "--concurrency", str(args.concurrency), "--users", str(args.users)],
                        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
                        check=True)
                    run = json.loads(out.stdout.strip().splitlines()[-1])
                    print(json.dumps({"round": round_, "database": database, "tree": label, **run}), flush=True)
                    results.setdefault(f"{database} {label}", {}).setdefault("tps", []).append(run["turns_per_second"])
                    results[f"{database} {label}"].setdefault("p99", []).append(run["p99_ms"])
    for name, r in results.items():
        print(json.dumps({"summary": name, "median_turns_per_second": statistics.median(r["tps"]),
                          "median_p99_ms": statistics.median(r["p99"]), "runs": r["tps"]}))


if __name__ == "__main__":
    main()
