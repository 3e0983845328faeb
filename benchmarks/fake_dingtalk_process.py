"""The tests' fake DingTalk / 浙政钉 server as its own process, with GET /_stats for the benchmarks."""

from __future__ import annotations

import asyncio
import collections

from aiohttp import web

from benchmarks.common import APP_KEY, APP_SECRET
from tests.fake_servers import FakeDingTalk


async def main() -> None:
    fake = FakeDingTalk(APP_KEY, APP_SECRET)

    async def stats(request: web.Request) -> web.Response:
        per_message = collections.Counter(
            (d.via, d.to, str(d.msg.get("text") or d.msg.get("markdown") or d.msg)) for d in fake.state.delivered)
        return web.json_response({
            "delivered": len(fake.state.delivered), "biz_ids": len(fake.state.biz_ids),
            "rejected": len(fake.state.rejected), "recipients": len({d.to for d in fake.state.delivered}),
            "by_recipient": collections.Counter(d.to for d in fake.state.delivered),
            "biz_id_list": sorted(fake.state.biz_ids),
            "max_same_message": max(per_message.values(), default=0)})

    fake.app.router.add_get("/_stats", stats)
    await fake.start()
    print("fake dingtalk ready", fake.url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
