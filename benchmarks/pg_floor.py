"""The floor under any PostgreSQL turn on this machine: the same signed DingTalk load against handlers
that do nothing but PostgreSQL's part of a turn on raw asyncpg, beside the bare-aiohttp baseline.

Usage: python -m benchmarks.pg_floor --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/qihu_bench
       [--seconds 15] [--concurrency 64]

Handlers (each checks the signature and parses the JSON as qihu's callback does):
  insert  one INSERT … ON CONFLICT DO NOTHING of the message id, committed (one round trip);
  turn    the shape of a qihu turn with no dialogue: BEGIN; claim the message id and lock the
          sender's row; update it and insert one outbox row; COMMIT (four round trips);
  two     the least any turn needs: read the sender's row, then claim, save and insert the outbox
          row in one statement, committed (two round trips; a turn built this way would have to
          detect a concurrent change itself and run again).
No SQLAlchemy, no dialogue, no tagging, no reply sent: what these reach bounds what a whole turn on
PostgreSQL can reach here, whatever the code above them does."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import sys
from typing import Any

from benchmarks.common import APP_SECRET, Proc, free_port, machine, reset_postgres, start_baseline, wait_ready, wrk

SCHEMA = """
CREATE TABLE floor_inbound (message_id text PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE floor_conversations (user_id text PRIMARY KEY, version int NOT NULL);
CREATE TABLE floor_outbox (id bigserial PRIMARY KEY, recipient text NOT NULL, body json NOT NULL);
"""
OPEN = """
WITH claim AS (INSERT INTO floor_inbound (message_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1),
touch AS (INSERT INTO floor_conversations VALUES ($2, 0) ON CONFLICT DO NOTHING RETURNING 1)
SELECT EXISTS (SELECT 1 FROM claim), (SELECT version FROM floor_conversations WHERE user_id = $2 FOR UPDATE)
"""
READ = "SELECT version FROM floor_conversations WHERE user_id = $1"
CLOSE_ONE = """
WITH claim AS (INSERT INTO floor_inbound (message_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1),
saved AS (INSERT INTO floor_conversations SELECT $2, 1 WHERE EXISTS (SELECT 1 FROM claim)
          ON CONFLICT (user_id) DO UPDATE SET version = floor_conversations.version + 1 RETURNING 1)
INSERT INTO floor_outbox (recipient, body) SELECT $2, $3 WHERE EXISTS (SELECT 1 FROM saved) RETURNING id
"""
CLOSE = """
WITH saved AS (UPDATE floor_conversations SET version = version + 1 WHERE user_id = $1)
INSERT INTO floor_outbox (recipient, body) VALUES ($1, $2) RETURNING id
"""


def serve(port: int, dsn: str, mode: str) -> None:
    import asyncpg
    from aiohttp import web

    pool: Any = None

    async def start(_app: web.Application) -> None:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=20, max_size=20)

    async def callback(request: web.Request) -> web.Response:
        ts, sign = request.headers.get("timestamp", ""), request.headers.get("sign", "")
        digest = hmac.new(APP_SECRET.encode(), f"{ts}\n{APP_SECRET}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
            return web.json_response({"error": "bad signature"}, status=401)
        payload = json.loads(await request.read())
        message_id, user = payload["msgId"], payload["senderStaffId"]
        async with pool.acquire() as conn:
            if mode == "insert":
                await conn.execute("INSERT INTO floor_inbound (message_id) VALUES ($1) ON CONFLICT DO NOTHING",
                                   message_id)
            elif mode == "two":
                await conn.fetchval(READ, user)
                await conn.fetchval(CLOSE_ONE, message_id, user, json.dumps({"text": payload["text"]["content"]}))
            else:
                await conn.execute("BEGIN")
                try:
                    await conn.fetchrow(OPEN, message_id, user)
                    await conn.fetchval(CLOSE, user, json.dumps({"text": payload["text"]["content"]}))
                    await conn.execute("COMMIT")
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
        return web.json_response({})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.on_startup.append(start)
    app.router.add_post("/channels/dingtalk/callback", callback)
    app.router.add_get("/healthz", healthz)
    print("floor ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def create_schema(url: str) -> None:
    import asyncpg
    await reset_postgres(url)
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute(SCHEMA)
    finally:
        await conn.close()


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a database of your own; its schema is dropped first")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "seconds": args.seconds, "concurrency": args.concurrency}
    base_proc, base_url = start_baseline()
    try:
        report["baseline"] = wrk(base_url, args.seconds, args.concurrency, "http://127.0.0.1:9", 2000, "b")
    finally:
        base_proc.stop()
    for mode in ("insert", "two", "turn"):
        asyncio.run(create_schema(args.postgres))
        port = free_port()
        proc = Proc([sys.executable, "-m", "benchmarks.pg_floor", "serve", str(port),
                     args.postgres.replace("+asyncpg", ""), mode], "floor ready")
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            r = wrk(f"http://127.0.0.1:{port}", args.seconds, args.concurrency, "http://127.0.0.1:9", 2000, mode)
        finally:
            proc.stop()
        r["ratio_rps"] = round(r["rps"] / report["baseline"]["rps"], 3)
        r["ratio_p99"] = round(r["p99_ms"] / report["baseline"]["p99_ms"], 1)
        report[mode] = r
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
