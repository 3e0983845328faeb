"""Load on the web chat API at concurrency 64: whole turns (dialogue, tag, commit, outbox) vs a bare
aiohttp baseline measured in the same run. Usage: python -m benchmarks.load_webchat [--seconds 30]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["你好", "帮助", "查询", "园区这周已经停电三次了，每次都没有提前通知，设备损坏严重", "取消"]


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], ready: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if ready in line:
            # Drain the log from now on: a full pipe would stall the server mid-benchmark.
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc
    raise RuntimeError(f"{cmd} did not start")


async def load(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(i: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        n = 0
        while time.perf_counter() < deadline:
            body = {"user": f"ent-{i}", "text": TEXTS[n % len(TEXTS)], "client_msg_id": f"{i}-{n}"}
            n += 1
            t0 = time.perf_counter()
            async with session.post(url, json=body) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - t0)

    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        start_t = time.perf_counter()
        await asyncio.gather(*(worker(i, session) for i in range(concurrency)))
        elapsed = time.perf_counter() - start_t
    latencies.sort()
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        port = free_port()
        base = start([sys.executable, "-m", "benchmarks.baseline_server", str(port)], "baseline ready", env, ROOT)
        try:
            results["baseline"] = asyncio.run(load(f"http://127.0.0.1:{port}/api/web/messages",
                                                   args.seconds, args.concurrency))
        finally:
            base.terminate()
            base.wait()
        port = free_port()
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        env |= {"QIHU_DATABASE__URL": url, "QIHU_SERVER__PORT": str(port),
                "QIHU_CONFIG": str(ROOT / "config.example.toml")}
        bot = start([sys.executable, "-m", "bot", "run"], "企呼已启动", env, Path(tmp))
        try:
            results["qihu"] = asyncio.run(load(f"http://127.0.0.1:{port}/api/web/messages",
                                               args.seconds, args.concurrency))
        finally:
            bot.terminate()
            bot.wait()
    results["ratio_rps"] = results["qihu"]["rps"] / results["baseline"]["rps"]
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
