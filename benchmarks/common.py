"""Shared benchmark parts: processes on free ports, the bare-aiohttp baseline, wrk runs, machine facts."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP_KEY = "dingbenchkey"
APP_SECRET = "bench-app-secret"  # a throwaway secret of the benchmark's own fake DingTalk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def reset_postgres(url: str) -> None:
    """An empty schema in a PostgreSQL database of the benchmark's own (the server migrates it)."""
    from sqlalchemy import text

    from storage.engine import create_engine
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def machine() -> dict[str, str]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    import sqlite3
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "cores": str(os.cpu_count()),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def sign(timestamp_ms: int, secret: str = APP_SECRET) -> str:
    """channels.md §1.1: Base64(HMAC-SHA256(secret, timestamp + "\\n" + secret))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


_last_ms = 0


def unique_ms() -> int:
    """Now in ms, but never the same value twice in this process: DingTalk signs each callback when it
    sends it, and qihu refuses a (timestamp, sign) pair it has seen with another msgId (issue 14 §3)."""
    global _last_ms
    _last_ms = max(int(time.time() * 1000), _last_ms + 1)
    return _last_ms


def signed_pairs(path: Path, count: int) -> None:
    """`count` lines "timestamp sign", one millisecond apart going back from now, for wrk to use one each."""
    now = int(time.time() * 1000)
    with path.open("w") as out:
        for i in range(count):
            out.write(f"{now - i} {sign(now - i)}\n")


class Proc:
    """A child process started with a ready line on stdout; stop() is SIGTERM, kill() is SIGKILL."""

    def __init__(self, cmd: list[str], ready: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
                 timeout: float = 120) -> None:
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            self.lines.append(line)
            if ready in line:
                break
            if time.monotonic() > deadline:
                break
        else:
            raise RuntimeError(f"{cmd} exited before ready:\n{''.join(self.lines[-40:])}")
        # Keep reading so a chatty child never blocks on a full pipe.
        import threading
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if len(self.lines) > 2000:
                del self.lines[:1000]

    def ready_line(self, marker: str) -> str:
        return next(line for line in self.lines if marker in line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def wait_ready(base_url: str, timeout: float = 60) -> None:
    """Until /healthz says the jieba dictionary is loaded (turns before that would time the load)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get_json(f"{base_url}/healthz").get("nlp_ready", True):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server not ready")


def qihu_env(database_url: str, port: int, fake_url: str, *, dialect: str = "dingtalk",
             ack_seconds: float = 30.0, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "QIHU_CONFIG": str(ROOT / "config.example.toml"), "QIHU_DATABASE__URL": database_url,
        "QIHU_SERVER__PORT": str(port), "QIHU_CHANNELS__DINGTALK__ENABLED": "true",
        "QIHU_CHANNELS__DINGTALK__DIALECT": dialect, "QIHU_CHANNELS__DINGTALK__APP_KEY": APP_KEY,
        "QIHU_CHANNELS__DINGTALK__APP_SECRET": APP_SECRET, "QIHU_CHANNELS__DINGTALK__TENANT_ID": "bench",
        "QIHU_CHANNELS__DINGTALK__API_BASE": fake_url,
        "QIHU_CHANNELS__DINGTALK__SESSION_WEBHOOK_PREFIXES": json.dumps([fake_url + "/"]),
        # The callback is answered once the turn committed (or after this long): the HTTP latency
        # is then the whole turn's.
        "QIHU_CHANNELS__DINGTALK__ACK_SECONDS": str(ack_seconds),
        "QIHU_DELIVERY__POLL_SECONDS": "0.5",
        "QIHU_SERVER__SENDER_PER_MINUTE": "0",  # the load is many messages from few people
        **(extra or {}),
    }


def start_fake_dingtalk() -> tuple[Proc, str]:
    proc = Proc([sys.executable, "-m", "benchmarks.fake_dingtalk_process"], "fake dingtalk ready")
    url = proc.ready_line("fake dingtalk ready").split()[-1]
    return proc, url


def start_qihu(env: dict[str, str], workdir: Path) -> Proc:
    return Proc([sys.executable, "-m", "bot", "run"], "企呼已启动", env, cwd=workdir)


def start_baseline() -> tuple[Proc, str]:
    port = free_port()
    proc = Proc([sys.executable, "-m", "benchmarks.baseline_server", str(port)], "baseline ready")
    url = f"http://127.0.0.1:{port}"
    wait_ready(url)
    return proc, url


WRK_SCRIPT = ROOT / "benchmarks" / "dingtalk_callback.lua"


TEXTS = ["你好", "帮助", "查询", "取消",
         "园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重，希望供电所给个说法"]


def python_load(url: str, seconds: float, concurrency: int, fake_url: str, users: int, tag: str) -> dict[str, Any]:
    """The same signed callbacks from an aiohttp client, when wrk is not installed (CI smoke runs).
    One Python process cannot load a server as hard as wrk can: do not compare its figures with wrk's."""
    import asyncio
    import statistics

    import aiohttp

    async def run() -> dict[str, Any]:
        latencies: list[float] = []
        non_2xx = 0
        deadline = time.perf_counter() + seconds
        ts = int(time.time() * 1000)

        async def worker(w: int, session: aiohttp.ClientSession) -> None:
            nonlocal non_2xx
            n = 0
            while time.perf_counter() < deadline:
                user = f"ent-{tag}-{(w * 1000 + n) % max(1, users)}"
                body = {"msgtype": "text", "text": {"content": TEXTS[(n // max(1, users)) % len(TEXTS)]},
                        "msgId": f"{tag}-{w}-{n}", "senderId": f"$:LWCP_v1:${user}", "senderStaffId": user,
                        "conversationType": "1", "sessionWebhook": f"{fake_url}/robot/sendBySession?session={user}",
                        "sessionWebhookExpiredTime": ts + 5400000}
                n += 1
                signed = unique_ms()
                headers = {"timestamp": str(signed), "sign": sign(signed),
                           "Content-Type": "application/json; charset=utf-8"}
                t0 = time.perf_counter()
                async with session.post(url + "/channels/dingtalk/callback", data=json.dumps(body),
                                        headers=headers) as resp:
                    await resp.read()
                    non_2xx += resp.status >= 300
                latencies.append(time.perf_counter() - t0)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(w, session) for w in range(concurrency)))
            elapsed = time.perf_counter() - t0
        latencies.sort()
        return {"requests": len(latencies), "rps": len(latencies) / elapsed,
                "p50_ms": statistics.median(latencies) * 1000,
                "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
                "non_2xx": non_2xx, "socket_errors": "", "generator": "python"}

    return asyncio.run(run())


def wrk(url: str, seconds: float, concurrency: int, fake_url: str, users: int, tag: str) -> dict[str, Any]:
    """wrk with signed DingTalk callbacks from `users` enterprises; returns req/s, p50, p99, errors."""
    if shutil.which("wrk") is None:
        print("wrk is missing (apt-get install wrk): using the slower Python load generator", flush=True)
        return python_load(url, seconds, concurrency, fake_url, users, tag)
    threads = min(2, concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        pairs = Path(tmp) / "pairs.txt"
        signed_pairs(pairs, int(max(1, seconds) * 40_000))  # more than wrk sends: no pair is used twice
        cmd = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s", "--latency",
               "--timeout", "10s", "-s", str(WRK_SCRIPT), url + "/channels/dingtalk/callback", "--",
               str(pairs), str(threads), fake_url, str(users), tag]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    return parse_wrk(out)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> dict[str, Any]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": total, "rps": rps, "p50_ms": p50, "p99_ms": p99,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": socket_errors.group(1).strip() if socket_errors else ""}
