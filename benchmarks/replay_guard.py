"""The DingTalk callback's replay guard (issue 14 §3): turns/s of two source trees, alternately, in one run.

Usage: python -m benchmarks.replay_guard --tree before=/tmp/trust-b-before --tree after=. \\
       [--rounds 3] [--seconds 10] [--concurrency 64] [--users 2000] [--postgres postgresql+asyncpg://…]
       python -m benchmarks.replay_guard --in-process [--rounds 4] [--seconds 4] [--postgres …]

Each tree's server (`python -m bot run` with that tree first on the path and its own config.example.toml)
takes the same signed callbacks, each with a (timestamp, sign) pair of its own, from the generator of
this tree (wrk when installed, else the Python one); the bare aiohttp baseline is measured in every round,
so each figure is also a ratio to it. The order of the trees alternates by round.

--in-process: the turn's statements alone (as benchmarks/turn_store.py) against the same turn with the
guard's statements first in its transaction, at concurrency 64 in one process, alternately, each run a fresh process and
database: the guard's own cost without the HTTP stack's noise."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
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


async def measure(url: str, seconds: float, concurrency: int, users: int, guard: bool) -> dict[str, float]:
    """In the child: turns (open, close with one outbox row, commit), each after the guard's check if asked."""
    from benchmarks.common import reset_postgres, sign
    from bot.messages import ConversationKey, OutboundMessage
    from storage.engine import create_engine
    from storage.migrate import upgrade_async
    from storage.unit_of_work import uow_factory

    if url.startswith("postgresql"):
        await reset_postgres(url)
    await upgrade_async(url)
    engine = create_engine(url, pool_size=10)
    uow = uow_factory(engine)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    base_ms = int(now.timestamp() * 1000)
    done = 0
    signed = itertools.count()  # each callback its own timestamp, as DingTalk signs them
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def person(worker: int) -> None:
        nonlocal done
        n = 0
        while time.monotonic() < stop:
            key = ConversationKey("dingtalk", f"ent-{(worker + n * concurrency) % users}")
            msg_id = f"{worker}-{n}"
            started = time.perf_counter()
            async with uow() as u:
                if guard:  # as bot.channels.dingtalk.replay.ReplayGuard: first, in the turn's transaction
                    ts = str(base_ms - next(signed))
                    assert await u.turns.claim_signature({"channel": "dingtalk", "timestamp": ts,
                                                          "sign": sign(int(ts)), "message_id": msg_id,
                                                          "keep_until": now + timedelta(hours=1)})
                opened = await u.turns.open(key, msg_id, now)
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


def in_process(args: argparse.Namespace) -> None:
    results: dict[str, list[float]] = {}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for db in ["sqlite"] + (["postgresql"] if args.postgres else []):
                for variant in (["turn", "guard+turn"] if rnd % 2 == 0 else ["guard+turn", "turn"]):
                    url = args.postgres if db == "postgresql" else f"sqlite+aiosqlite:///{tmp}/{variant}-{rnd}.db"
                    out = subprocess.run(
                        [sys.executable, "-m", "benchmarks.replay_guard", "--child-url", url, "--seconds",
                         str(args.seconds), "--concurrency", str(args.concurrency), "--users", str(args.users)]
                        + (["--child-guard"] if variant == "guard+turn" else []),
                        env={**os.environ}, capture_output=True, text=True, check=True)
                    run = {"round": rnd, "database": db, "variant": variant,
                           "at": time.strftime("%H:%M:%S", time.gmtime()),
                           **json.loads(out.stdout.strip().splitlines()[-1])}
                    runs.append(run)
                    print(json.dumps(run), flush=True)
                    results.setdefault(f"{db} {variant}", []).append(run["turns_per_second"])
    summary = {name: {"median_turns_per_second": statistics.median(v), "runs": v} for name, v in results.items()}
    for db in ["sqlite", "postgresql"]:
        if f"{db} turn" in summary:
            guarded, plain = summary[f"{db} guard+turn"], summary[f"{db} turn"]
            summary[f"{db} ratio guard+turn / turn"] = round(
                guarded["median_turns_per_second"] / plain["median_turns_per_second"], 3)
    print(json.dumps({"machine": machine(), "summary": summary}, indent=2, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], help="name=path of a source tree")
    parser.add_argument("--in-process", action="store_true", help="the guard's own cost, this tree only")
    parser.add_argument("--child-url", help=argparse.SUPPRESS)
    parser.add_argument("--child-guard", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--postgres", default="", help="a database of your own; its schema is dropped each run")
    args = parser.parse_args()
    if args.child_url:
        print(json.dumps(asyncio.run(measure(args.child_url, args.seconds, args.concurrency, args.users,
                                             args.child_guard))))
        return
    if args.in_process:
        in_process(args)
        return
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
