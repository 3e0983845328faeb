"""kill -9 the server in the middle of signed DingTalk load, start it again, and check that nothing was lost.

Usage: python -m benchmarks.crash [--dialect zzd|dingtalk] [--users 200] [--kill-after 3]
       [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/qihu_wt8_crash]

Every message is re-sent until it is acknowledged, as DingTalk re-delivers an unanswered callback.
Checks, printed with the counts:
- every acknowledged message is stored, exactly once: each turn bumps its conversation's version by one,
  so stored messages = the sum of conversation versions, and as every person runs the same script,
  every person has the same number of outbox rows (a turn applied twice would show as one more);
- every outbox message reaches the fake server: exactly once for zzd (bizMsgId), at most twice otherwise;
- dialogues continue: after the restart every person gets an answer, and people who were in the middle
  of filing are still at the step they had reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.common import (
    free_port,
    get_json,
    qihu_env,
    reset_postgres,
    sign,
    start_fake_dingtalk,
    start_qihu,
    unique_ms,
    wait_ready,
)

CHAT = "channel IN ('dingtalk', 'zzd')"
SCRIPT = ["你好", "帮助", "园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重，希望供电所给个说法",
          "示范精密机械有限公司", "帮助"]


def callback(user: str, n: int, text: str, fake_url: str, dialect: str, tag: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    body: dict[str, Any] = {
        "msgtype": "text", "text": {"content": " " + text}, "msgId": f"{tag}-{user}-{n}", "createAt": now,
        "conversationType": "1", "conversationId": f"cid-{user}", "senderId": f"$:LWCP_v1:${user}",
        "senderNick": user, "senderStaffId": user, "robotCode": "dingbenchkey"}
    if dialect == "dingtalk":
        body |= {"sessionWebhook": f"{fake_url}/robot/sendBySession?session={user}",
                 "sessionWebhookExpiredTime": now + 5400 * 1000}
    return body


class Load:
    def __init__(self, base_url: str, fake_url: str, dialect: str, tag: str) -> None:
        self.base_url = base_url
        self.fake_url = fake_url
        self.dialect = dialect
        self.tag = tag
        self.sent: set[str] = set()
        self.acked: set[str] = set()
        self.attempts = 0
        self.refused = 0  # connection errors and non-200 answers while the server was down

    async def message(self, session: aiohttp.ClientSession, user: str, n: int, text: str,
                      deadline: float) -> None:
        body = callback(user, n, text, self.fake_url, self.dialect, self.tag)
        self.sent.add(body["msgId"])
        while time.monotonic() < deadline:
            ts = unique_ms()
            self.attempts += 1
            try:
                async with session.post(f"{self.base_url}/channels/dingtalk/callback", json=body,
                                        headers={"timestamp": str(ts), "sign": sign(ts)}) as resp:
                    await resp.read()
                    if resp.status == 200:
                        self.acked.add(body["msgId"])
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.refused += 1
            await asyncio.sleep(0.2)  # the platform re-delivers an unanswered message later

    async def users(self, names: list[str], script: list[str], start: int, concurrency: int,
                    deadline: float) -> None:
        gate = asyncio.Semaphore(concurrency)
        timeout = aiohttp.ClientTimeout(total=40)

        async def one(user: str) -> None:
            async with gate:
                for i, text in enumerate(script):
                    await self.message(session, user, start + i, text, deadline)

        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            await asyncio.gather(*(one(u) for u in names))


async def database_facts(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from storage.engine import create_engine
    engine = create_engine(url)
    async with engine.connect() as conn:
        async def scalar(sql: str) -> Any:
            return (await conn.execute(text(sql))).scalar_one()
        facts = {
            "stored": await scalar("SELECT count(*) FROM inbound_messages WHERE channel IN ('dingtalk','zzd')"),
            # Only what goes to the chat people type in: the demo's web staff may get notices of their own.
            "outbox": await scalar(f"SELECT count(*) FROM outbox WHERE {CHAT}"),
            "outbox_sent": await scalar(f"SELECT count(*) FROM outbox WHERE status = 'sent' AND {CHAT}"),
            "version_sum": await scalar("SELECT coalesce(sum(version), 0) FROM conversations"),
            "outbox_ids": [r[0] for r in (await conn.execute(text(f"SELECT id FROM outbox WHERE {CHAT}"))).all()],
            "by_recipient": {r[0]: r[1] for r in (await conn.execute(
                text(f"SELECT recipient, count(*) FROM outbox WHERE {CHAT} GROUP BY recipient"))).all()},
            "steps": {r[0]: r[1] for r in (await conn.execute(
                text("SELECT user_id, step FROM conversations"))).all()},
            "message_ids": {r[0] for r in (await conn.execute(text("SELECT message_id FROM inbound_messages"))).all()},
        }
    await engine.dispose()
    return facts


def wait_delivered(fake_url: str, want: int, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    stats = get_json(f"{fake_url}/_stats")
    while time.monotonic() < deadline and stats["delivered"] < want:
        time.sleep(0.5)
        stats = get_json(f"{fake_url}/_stats")
    time.sleep(1.0)  # a late duplicate would show up now
    return get_json(f"{fake_url}/_stats")


def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = f"c{int(time.time())}"
    users = [f"crash-{i:04d}" for i in range(args.users)]
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/crash.db"
        if args.database_url:
            asyncio.run(reset_postgres(url))
        fake, fake_url = start_fake_dingtalk()
        port = free_port()
        env = qihu_env(url, port, fake_url, dialect=args.dialect, ack_seconds=10.0,
                       extra={"QIHU_DELIVERY__LEASE_SECONDS": str(args.lease_seconds),
                              "QIHU_DELIVERY__WORKER": args.delivery_worker})
        server = start_qihu(env, Path(tmp))
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        load = Load(base, fake_url, args.dialect, tag)
        killed_at: dict[str, Any] = {}

        async def crash_and_restart() -> None:
            # Mid-load on any machine: when a share of phase one is acknowledged (or after kill_after).
            deadline = time.monotonic() + args.kill_after
            while len(load.acked) < args.kill_at * len(users) * 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            killed_at["acked"] = len(load.acked)
            killed_at["sent"] = len(load.sent)
            server.kill()  # SIGKILL: no shutdown, no flush, like a power cut
            killed_at["delivered"] = get_json(f"{fake_url}/_stats")["delivered"]
            await asyncio.sleep(0.5)
            restarted = await asyncio.to_thread(start_qihu, env, Path(tmp))
            await asyncio.to_thread(wait_ready, base)
            killed_at["server"] = restarted

        async def phase_one() -> None:
            deadline = time.monotonic() + args.kill_after + 120
            await asyncio.gather(load.users(users, SCRIPT[:4], 0, args.concurrency, deadline), crash_and_restart())

        asyncio.run(phase_one())
        server = killed_at.pop("server")
        try:
            before = asyncio.run(database_facts(url))
            # Dialogues continue: everyone says one more thing after the restart.
            deadline = time.monotonic() + 120
            asyncio.run(load.users(users, SCRIPT[4:], 4, args.concurrency, deadline))
            after = asyncio.run(database_facts(url))
            stats = wait_delivered(fake_url, after["outbox"], args.lease_seconds + 60)
            after = asyncio.run(database_facts(url))
        finally:
            server.stop()
            fake.stop()
    return report(args, load, killed_at, before, after, stats, users)


def report(args: argparse.Namespace, load: Load, killed_at: dict[str, Any], before: dict[str, Any],
           after: dict[str, Any], stats: dict[str, Any], users: list[str]) -> dict[str, Any]:
    lost = sorted(load.acked - after["message_ids"])
    counts = stats["by_recipient"]
    per_message = [(counts.get(r, 0), n) for r, n in after["by_recipient"].items()]
    checks = {
        "every acknowledged message stored": not lost,
        "every sent message acknowledged in the end": load.sent == load.acked,
        "effects exactly once (stored = sum of conversation versions; same outbox rows for everyone)":
            after["stored"] == after["version_sum"] == len(load.sent)
            and len(set(after["by_recipient"].values())) == 1,
        "every reply delivered at least once": all(d >= n for d, n in per_message),
        ("exactly once (bizMsgId)" if args.dialect == "zzd" else "at most twice"):
            (stats["delivered"] == after["outbox"]
             and set(stats["biz_id_list"]) == {f"qihu-{i}" for i in after["outbox_ids"]})
            if args.dialect == "zzd" else all(d <= 2 * n for d, n in per_message),
        "dialogues continue (step kept across the crash, one more answer each)":
            all(before["steps"].get(u) == "idle" or before["steps"].get(u) == after["steps"].get(u) for u in users)
            and all(counts.get(u, 0) >= 1 for u in users),
    }
    return {
        "dialect": args.dialect, "delivery_worker": args.delivery_worker,
        "database": "postgresql" if args.database_url else "sqlite",
        "users": len(users), "messages_per_user": len(SCRIPT),
        "at_kill": killed_at,
        "sent": len(load.sent), "attempts": load.attempts, "refused_while_down": load.refused,
        "acknowledged": len(load.acked), "stored": after["stored"], "lost": lost[:10],
        "conversation_version_sum": after["version_sum"],
        "outbox": after["outbox"], "outbox_rows_per_person": sorted(set(after["by_recipient"].values())),
        "outbox_sent": after["outbox_sent"],
        "delivered": stats["delivered"], "duplicates_delivered": stats["delivered"] - after["outbox"],
        "users_mid_filing_at_restart": sum(1 for s in before["steps"].values() if s != "idle"),
        "checks": checks, "ok": all(checks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=["zzd", "dingtalk"], default="zzd")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--kill-after", type=float, default=4.0, help="kill at the latest after this many seconds")
    parser.add_argument("--kill-at", type=float, default=0.5,
                        help="kill once this share of the messages before the crash is acknowledged")
    parser.add_argument("--lease-seconds", type=float, default=5.0)
    parser.add_argument("--delivery-worker", choices=["inline", "process"], default="inline",
                        help="[delivery] worker: send from the server, or from its child process")
    parser.add_argument("--database-url", default="", help="a PostgreSQL database of your own (schema dropped)")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
