"""The baseline every timing is compared with: a bare aiohttp handler answering a JSON POST."""

from __future__ import annotations

import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    payload = await request.json()
    return web.json_response({"ok": True, "echo": len(str(payload.get("text", "")))})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/api/web/messages", handle)
    app.router.add_post("/channels/dingtalk/callback", handle)
    app.router.add_get("/healthz", healthz)
    print("baseline ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
