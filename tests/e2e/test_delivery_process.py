"""[delivery] worker = "process": replies leave from a child process that is restarted when it dies and
stops with the server."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request

import pytest

from benchmarks.common import qihu_env, sign, start_fake_dingtalk
from tests.e2e.server_process import ServerProcess


def callback(server: ServerProcess, user: str, msg_id: str, text: str, fake_url: str) -> int:
    ts = int(time.time() * 1000)
    body = {"msgtype": "text", "text": {"content": text}, "msgId": msg_id, "conversationType": "1",
            "senderId": f"$:LWCP_v1:${user}", "senderStaffId": user, "senderNick": "企业",
            "sessionWebhook": f"{fake_url}/robot/sendBySession?session={user}",
            "sessionWebhookExpiredTime": ts + 5_400_000}
    req = urllib.request.Request(f"{server.url}/channels/dingtalk/callback", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "timestamp": str(ts), "sign": sign(ts)})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def stats(fake_url: str) -> dict:
    with urllib.request.urlopen(f"{fake_url}/_stats", timeout=10) as r:
        return json.loads(r.read())


def wait_until(condition, what: str, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """Another process's progress has no clock of ours to freeze: poll it, bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sender_pids(server: ServerProcess) -> list[int]:
    return [int(m.group(1)) for line in list(server.output)
            if (m := re.search(r"outbox sender started as process (\d+)", line))]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    proc, url = start_fake_dingtalk()
    yield url
    proc.stop()


def test_replies_leave_from_a_child_process_that_is_restarted_and_stops_with_the_server(
        database_url, tmp_path, fake):
    server = ServerProcess(database_url, tmp_path)
    server.env.update(qihu_env(database_url, server.port, fake, extra={"QIHU_DELIVERY__WORKER": "process"}))
    server.start()
    try:
        first = wait_until(lambda: sender_pids(server), "the sender process")[0]
        assert first != server.proc.pid and alive(first)

        assert callback(server, "ent-d1", "m1", "你好", fake) == 200
        assert wait_until(lambda: stats(fake)["delivered"] == 1, "the first reply")
        assert stats(fake)["by_recipient"] == {"ent-d1": 1}

        os.kill(first, 9)  # the sender dies; the server starts another one
        second = wait_until(lambda: [p for p in sender_pids(server) if p != first], "a new sender")[0]
        assert "outbox sender process exited with -9" in "".join(server.output)
        assert callback(server, "ent-d2", "m2", "帮助", fake) == 200
        assert wait_until(lambda: stats(fake)["delivered"] == 2, "the reply after the restart")
        assert stats(fake)["by_recipient"] == {"ent-d1": 1, "ent-d2": 1}
    finally:
        server.stop()
    assert wait_until(lambda: not alive(second), "the sender to stop with the server", timeout=20)
