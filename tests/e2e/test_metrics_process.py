"""/metrics of a real `qihu run` whose replies leave from the delivery child: the child's counters are there."""

from __future__ import annotations

import json
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.common import qihu_env, start_fake_dingtalk
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_delivery_process import callback, stats, wait_until


def scrape(server: ServerProcess) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=30) as r:
        text = r.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    proc, url = start_fake_dingtalk()
    yield url
    proc.stop()


def test_the_delivery_child_counts_its_sends_into_the_servers_metrics(database_url, tmp_path, fake):
    server = ServerProcess(database_url, tmp_path)
    server.env.update(qihu_env(database_url, server.port, fake, extra={"QIHU_DELIVERY__WORKER": "process"}))
    server.start()
    try:
        assert callback(server, "ent-m1", "m1", "你好", fake) == 200
        assert callback(server, "ent-m1", "m1", "你好", fake) == 200  # DingTalk's retry: a duplicate
        assert wait_until(lambda: stats(fake)["delivered"] == 1, "the reply")
        sent = ("qihu_delivery_attempts_total", (("channel", "dingtalk"), ("status", "sent")))
        # Only the child sends: the value reaches the parent's /metrics through the shared directory.
        samples = wait_until(lambda: (s := scrape(server)).get(sent) and s, "the child's counter")
        assert samples[sent] == 1
        assert samples[("qihu_turns_total", (("channel", "dingtalk"), ("outcome", "ok")))] == 1
        assert samples[("qihu_turns_total", (("channel", "dingtalk"), ("outcome", "duplicate")))] == 1
        assert samples[("qihu_turn_seconds_count", (("channel", "dingtalk"),))] == 2
        assert samples[("qihu_up_database", ())] == 1
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as r:
            assert json.loads(r.read())["status"] == "ok"
    finally:
        server.stop()
