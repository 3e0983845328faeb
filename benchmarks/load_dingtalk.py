"""Signed DingTalk callbacks from many enterprises at concurrency 64: whole turns (verify, dialogue step,
tag, commit, outbox) against a bare aiohttp baseline measured in the same run, on SQLite and PostgreSQL.

Usage: python -m benchmarks.load_dingtalk [--seconds 30] [--concurrency 64] [--users 2000]
       [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/qihu_wt8_bench]
       [--delivery-worker inline process]

The callback is answered only once the turn has committed (ack_seconds = 30), so wrk's latency is the
whole turn's; afterwards the script waits for the outbox to deliver every reply to the fake DingTalk."""

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
    get_json,
    machine,
    qihu_env,
    reset_postgres,
    start_baseline,
    start_fake_dingtalk,
    start_qihu,
    wait_ready,
    wrk,
)


async def stored_counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from storage.engine import create_engine
    engine = create_engine(url)
    async with engine.connect() as conn:
        counts = {}
        for name in ("inbound_messages", "outbox", "conversations", "appeals"):
            counts[name] = (await conn.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one()
        counts["outbox_pending"] = (await conn.execute(
            text("SELECT count(*) FROM outbox WHERE status <> 'sent'"))).scalar_one()
    await engine.dispose()
    return counts


def run_qihu(database_url: str, seconds: float, concurrency: int, users: int, tag: str,
             workdir: Path, worker: str) -> dict[str, Any]:
    fake, fake_url = start_fake_dingtalk()
    port = free_port()
    server = start_qihu(qihu_env(database_url, port, fake_url, extra={"QIHU_DELIVERY__WORKER": worker}), workdir)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        result = wrk(base, seconds, concurrency, fake_url, users, tag)
        result["delivery_worker"] = worker
        # Every 200 was a committed turn with one reply in the outbox: how many had reached the fake
        # DingTalk when the load stopped, and how long the rest took (until no row is pending).
        stopped = time.monotonic()
        result["delivered_during_load"] = get_json(f"{fake_url}/_stats")["delivered"]
        while time.monotonic() < stopped + 120 and asyncio.run(stored_counts(database_url))["outbox_pending"]:
            time.sleep(0.2)
        result["drain_seconds"] = round(time.monotonic() - stopped, 1)
        result["delivered"] = delivered = get_json(f"{fake_url}/_stats")["delivered"]
        result["delivered_per_second"] = round(delivered / (seconds + result["drain_seconds"]), 1)
    finally:
        server.stop()
        fake.stop()
    result["stored"] = asyncio.run(stored_counts(database_url))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--postgres", default="", help="a database of your own; its schema is dropped first")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--delivery-worker", nargs="+", choices=["inline", "process"], default=["inline"],
                        help="[delivery] worker settings to measure, each a run of its own")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "seconds": args.seconds, "concurrency": args.concurrency,
                              "users": args.users}
    base_proc, base_url = start_baseline()
    try:
        report["baseline"] = wrk(base_url, args.seconds, args.concurrency, "http://127.0.0.1:9", args.users, "b")
    finally:
        base_proc.stop()
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            targets.append(("sqlite", lambda worker: f"sqlite+aiosqlite:///{tmp}/bench-{worker}.db"))
        if args.postgres:
            targets.append(("postgresql", lambda worker: args.postgres))
        for name, url_for in targets:
            for worker in args.delivery_worker:
                url = url_for(worker)
                if name == "postgresql":
                    asyncio.run(reset_postgres(url))
                r = run_qihu(url, args.seconds, args.concurrency, args.users, f"{name[:2]}{worker[0]}", Path(tmp),
                             worker)
                r["ratio_rps"] = round(r["rps"] / report["baseline"]["rps"], 3)
                r["ratio_p50"] = round(r["p50_ms"] / report["baseline"]["p50_ms"], 1)
                r["ratio_p99"] = round(r["p99_ms"] / report["baseline"]["p99_ms"], 1)
                report[name if len(args.delivery_worker) == 1 else f"{name}-{worker}"] = r
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
