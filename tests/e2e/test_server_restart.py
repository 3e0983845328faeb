"""A real server process: filing over HTTP, kill -9 mid-dialogue, restart, the dialogue goes on."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.e2e.server_process import ServerProcess


def post(server: ServerProcess, user: str, text: str) -> str:
    req = urllib.request.Request(f"{server.url}/api/web/messages", method="POST",
                                 data=json.dumps({"user": user, "text": text}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return "\n".join(m["text"] for m in json.loads(r.read())["replies"])


@pytest.fixture
def server(database_url, tmp_path):  # type: ignore[no-untyped-def]
    proc = ServerProcess(database_url, tmp_path)
    proc.start()
    yield proc
    proc.stop()


def test_kill_mid_dialogue_and_continue_after_restart(server):
    with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as r:
        assert json.loads(r.read())["status"] == "ok"
    assert "企业全称" in post(server, "ent-k", "我们公司新上的生产线需要增容一台变压器，供电所一直没有答复")
    assert "统一社会信用代码" in post(server, "ent-k", "示范精密机械有限公司")
    server.kill()
    server.start()
    assert "联系人姓名" in post(server, "ent-k", "91330825MA2DH4KX39")
    assert "手机号" in post(server, "ent-k", "张伟")
    assert "乡镇" in post(server, "ent-k", "13800138000")
    assert "建议归入" in post(server, "ent-k", "1")
    assert "请确认" in post(server, "ent-k", "1")
    assert "诉求已登记，编号 QH" in post(server, "ent-k", "1")
