"""Signed DingTalk callbacks from many enterprises at concurrency 64: whole turns (verify, dialogue step,
tag, commit, outbox) against a bare aiohttp baseline measured in the same run, on SQLite and PostgreSQL.

Usage: python -m benchmarks.load_dingtalk [--seconds 30] [--concurrency 64] [--users 2000]
       [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/qihu_wt8_bench]

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
    start_baseline,
    start_fake_dingtalk,
    start_qihu,
    wait_ready,
    wrk,
)


async def reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from storage.engine import create_engine
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


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
             workdir: Path) -> dict[str, Any]:
    fake, fake_url = start_fake_dingtalk()
    port = free_port()
    server = start_qihu(qihu_env(database_url, port, fake_url), workdir)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        result = wrk(base, seconds, concurrency, fake_url, users, tag)
        # Every 200 was a committed turn with one reply in the outbox: wait (bounded) for delivery.
        deadline = time.monotonic() + 60
        delivered = 0
        while time.monotonic() < deadline:
            delivered = get_json(f"{fake_url}/_stats")["delivered"]
            if delivered >= result["requests"] - result["non_2xx"]:
                break
            time.sleep(0.5)
        result["delivered"] = delivered
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
            targets.append(("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db"))
        if args.postgres:
            asyncio.run(reset_postgres(args.postgres))
            targets.append(("postgresql", args.postgres))
        for name, url in targets:
            r = run_qihu(url, args.seconds, args.concurrency, args.users, name[:2], Path(tmp))
            r["ratio_rps"] = round(r["rps"] / report["baseline"]["rps"], 3)
            r["ratio_p50"] = round(r["p50_ms"] / report["baseline"]["p50_ms"], 1)
            r["ratio_p99"] = round(r["p99_ms"] / report["baseline"]["p99_ms"], 1)
            report[name] = r
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
