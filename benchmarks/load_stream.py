"""DingTalk Stream mode under load: messages from many enterprises pushed at once onto a fake gateway's websocket
into `qihu run` (transport = "stream"), the socket dropped mid-load; measured until every frame is acknowledged
(each ack is a stored turn) and every reply delivered, and checked that each message was handled once.

Usage: python -m benchmarks.load_stream [--messages 2000] [--users 200] [--drop-after 500]
       [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/qihu_x_bench] [--delivery-worker inline]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import APP_KEY, APP_SECRET, free_port, machine, qihu_env, reset_postgres, start_qihu
from benchmarks.load_dingtalk import stored_counts
from tests.fake_servers import FakeDingTalk
from tests.fake_stream import FakeStreamGateway

SESSION_LIFE_MS = 5_400_000
# Messages that are answered with exactly one reply in any dialogue state: a second reply to one message
# can then only mean it was handled twice.
TEXTS = ["帮助", "查询", "你好"]


async def until(condition, what: str, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def payload(fake: FakeDingTalk, i: int, users: int) -> dict[str, Any]:
    user = f"ent-{i % users:05d}"
    now = int(time.time() * 1000)
    return {"msgtype": "text", "text": {"content": " " + TEXTS[(i // users) % len(TEXTS)]}, "msgId": f"m-{i}",
            "createAt": now, "conversationType": "1", "senderId": f"$:LWCP_v1:${user}", "senderStaffId": user,
            "senderNick": "企业", "sessionWebhook": fake.session_url(f"s-{i}"),
            "sessionWebhookExpiredTime": now + SESSION_LIFE_MS}


async def run(database_url: str, messages: int, users: int, drop_after: int, workdir: Path,
              worker: str) -> dict[str, Any]:
    fake = FakeDingTalk(APP_KEY, APP_SECRET)
    gateway = FakeStreamGateway(fake.app, APP_KEY, APP_SECRET)
    gateway.drops = [drop_after] if drop_after else []
    await fake.start()
    env = qihu_env(database_url, free_port(), fake.url, extra={
        "QIHU_CHANNELS__DINGTALK__TRANSPORT": "stream", "QIHU_DELIVERY__WORKER": worker})
    server = await asyncio.to_thread(start_qihu, env, workdir)
    result: dict[str, Any] = {"messages": messages, "users": users, "drop_after": drop_after,
                              "delivery_worker": worker}
    try:
        await until(lambda: gateway.live, "the Stream connection", 60)
        bodies = [payload(fake, i, users) for i in range(messages)]
        started = time.monotonic()
        for body in bodies:
            gateway.push(body)
        await asyncio.wait_for(gateway.all_acked.wait(), 900)
        acked = time.monotonic() - started
        sessions = {f"s-{i}" for i in range(messages)}
        await until(lambda: sessions <= {d.to for d in fake.state.delivered}, "every reply", 300)
        delivered = time.monotonic() - started
        per_session = collections.Counter(d.to for d in fake.state.delivered if d.to in sessions)
        result |= {
            "connections": gateway.connections, "frames_sent": len(gateway.sent),
            "frames_resent": len(gateway.sent) - messages, "bad_acks": len(gateway.bad_acks),
            "ack_codes": dict(collections.Counter(gateway.codes.values())),
            "acked_seconds": round(acked, 2), "turns_per_second": round(messages / acked, 1),
            "all_replied_seconds": round(delivered, 2),
            "max_replies_per_message": max(per_session.values()), "delivered": sum(per_session.values()),
        }
    finally:
        await asyncio.to_thread(server.stop)
        await fake.close()
    result["stored"] = await stored_counts(database_url)
    result["handled_once"] = result["stored"]["inbound_messages"] == messages and result.get(
        "max_replies_per_message") == 1
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--drop-after", type=int, default=500, help="frames sent before the first socket drops")
    parser.add_argument("--postgres", default="", help="a database of your own; its schema is dropped first")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--delivery-worker", choices=["inline", "process"], default="inline")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            report["sqlite"] = await run(f"sqlite+aiosqlite:///{tmp}/stream.db", args.messages, args.users,
                                         args.drop_after, Path(tmp), args.delivery_worker)
        if args.postgres:
            await reset_postgres(args.postgres)
            report["postgresql"] = await run(args.postgres, args.messages, args.users, args.drop_after, Path(tmp),
                                             args.delivery_worker)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
