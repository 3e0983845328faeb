"""`qihu run` with [channels.dingtalk] transport = "stream": the process holds the Stream connection, answers
through the outbox, and on SIGTERM closes the socket and exits cleanly."""

from __future__ import annotations

import asyncio
import json
import time

from benchmarks.common import qihu_env
from tests.e2e.server_process import ServerProcess
from tests.fake_servers import FakeDingTalk
from tests.fake_stream import FakeStreamGateway

SETTLE_SECONDS = 30.0


async def until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """Another process's progress has no clock of ours to freeze: poll it, bounded."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_qihu_run_holds_the_stream_and_stops_cleanly(database_url, tmp_path):
    key, secret = "dingstreamkey", "stream-app-secret"
    fake = FakeDingTalk(key, secret)
    gateway = FakeStreamGateway(fake.app, key, secret)
    await fake.start()
    server = ServerProcess(database_url, tmp_path)
    server.env.update(qihu_env(database_url, server.port, fake.url, extra={
        "QIHU_CHANNELS__DINGTALK__TRANSPORT": "stream", "QIHU_CHANNELS__DINGTALK__APP_KEY": key,
        "QIHU_CHANNELS__DINGTALK__APP_SECRET": secret}))
    try:
        await asyncio.to_thread(server.start)
        await until(lambda: gateway.live, "the Stream connection")
        now = int(time.time() * 1000)
        frame = gateway.push({
            "msgtype": "text", "text": {"content": " 帮助"}, "msgId": "m-e2e-1", "conversationType": "1",
            "senderId": "$:LWCP_v1:$ent-s1", "senderStaffId": "ent-s1", "senderNick": "企业",
            "sessionWebhook": fake.session_url("s-e2e-1"), "sessionWebhookExpiredTime": now + 5_400_000})
        await asyncio.wait_for(gateway.all_acked.wait(), SETTLE_SECONDS)
        assert gateway.codes == {frame: 200}
        await until(lambda: fake.state.delivered, "the reply")
        assert [d.to for d in fake.state.delivered] == ["s-e2e-1"]
        assert json.dumps(fake.state.delivered[0].msg, ensure_ascii=False).count("我要反映") >= 1

        await asyncio.to_thread(server.stop)
        assert server.proc is not None and server.proc.returncode == 0, "".join(server.output)[-2000:]
        await until(lambda: not gateway.live, "the socket closed")
        assert [line for line in server.output if "dingtalk" in line and ("ERROR" in line or "WARNING" in line)] == []
    finally:
        await asyncio.to_thread(server.stop)
        await fake.close()
