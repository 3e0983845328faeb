"""Load on the web chat API (the default channel): whole turns (dialogue, tag, commit, reply stored)
against the bare aiohttp baseline measured in the same run, both driven by the same Python client.

Usage: python -m benchmarks.load_webchat [--seconds 30] [--concurrency 64] [--database-url URL]

Each of `concurrency` clients is one enterprise walking through 你好 → 帮助 → 查询 → a problem
description → 取消 for the whole run (the per-sender rate limit is off: the load is many messages
from few people). The web chat answers with the turn's replies once the turn has committed, so the
latency is the whole turn's. The client runs in this process and takes CPU from the same two cores:
the DingTalk benchmark (wrk) is the one whose ratios docs/benchmarks.md reports."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.common import ROOT, free_port, machine, start_baseline, start_qihu, wait_ready

TEXTS = ["你好", "帮助", "查询", "园区这周已经停电三次了，每次都没有提前通知，设备损坏严重", "取消"]


async def load(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def worker(i: int, session: aiohttp.ClientSession) -> None:
        n = 0
        while time.perf_counter() < deadline:
            body = {"user": f"ent-{i}", "text": TEXTS[n % len(TEXTS)], "client_msg_id": f"{i}-{n}"}
            n += 1
            t0 = time.perf_counter()
            async with session.post(url, json=body) as r:
                await r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i, session) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "non_200": sum(v for k, v in statuses.items() if k != 200),
            "statuses": statuses, "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default="", help="default: a new SQLite file")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "seconds": args.seconds, "concurrency": args.concurrency}
    base_proc, base_url = start_baseline()
    try:
        report["baseline"] = asyncio.run(load(f"{base_url}/api/web/messages", args.seconds, args.concurrency))
    finally:
        base_proc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {"QIHU_CONFIG": str(ROOT / "config.example.toml"),
               "QIHU_DATABASE__URL": args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
               "QIHU_SERVER__PORT": str(port), "QIHU_SERVER__SENDER_PER_MINUTE": "0"}
        server = start_qihu(env, Path(tmp))
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            report["qihu"] = asyncio.run(load(f"http://127.0.0.1:{port}/api/web/messages", args.seconds,
                                              args.concurrency))
        finally:
            server.stop()
    report["ratio_rps"] = round(report["qihu"]["rps"] / report["baseline"]["rps"], 3)
    report["ratio_p99"] = round(report["qihu"]["p99_ms"] / report["baseline"]["p99_ms"], 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
