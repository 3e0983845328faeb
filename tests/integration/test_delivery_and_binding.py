"""Reliable delivery against a failing fake DingTalk, the outbox admin CLI, and staff binding codes."""

from __future__ import annotations

import asyncio
import random
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.cli import parser as cli
from bot.config import EXAMPLE_CONFIG
from bot.messages import ConversationKey, OutboundMessage
from bot.services.binding import issue_bind_code
from bot.services.delivery import RetryPolicy
from storage import tables as t
from tests.fake_servers import FakeDingTalk
from tests.integration.dingtalk_env import DingUser, make_env


@pytest.fixture
async def fake_ding():
    server = await FakeDingTalk().start()
    yield server
    await server.close()


def with_attempts(settings, n):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"delivery": settings.delivery.model_copy(update={"max_attempts": n})})


async def enqueue(app, messages):  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        ids = await uow.outbox.add(messages, app.runtime.now())
        await uow.commit()
    return ids


async def statuses(app, ids):  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        return [(await uow.outbox.get(i)).status for i in ids]


async def test_outage_then_recovery_delivers_every_message_once_in_order(settings, clock, fake_ding):
    env = await make_env(with_attempts(settings, 30), clock, fake_ding)
    try:
        env.app.outbox.rng = random.Random(7)
        users = ["u1", "u2", "u3"]
        messages = [OutboundMessage(ConversationKey("dingtalk", u), f"{u} 第{i}条") for i in range(4) for u in users]
        ids = await enqueue(env.app, messages)
        # Down for a while (500s), then throttled (429 with Retry-After), then fine.
        fake_ding.state.failures = [(500, {"code": "ServiceUnavailable"}, {})] * 6 + [
            (429, {"code": "Throttling.Api"}, {"Retry-After": "30"})] * 4
        rounds = 0
        while "pending" in await statuses(env.app, ids):
            rounds += 1
            assert rounds < 400, "delivery never finished"
            await env.app.outbox.run_once()
            clock.advance(seconds=15)
        assert fake_ding.state.failures == []
        per_user = defaultdict(list)
        for d in fake_ding.state.delivered:
            per_user[d.to].append(d.msg["content"])
        for u in users:
            assert per_user[u] == [f"{u} 第{i}条" for i in range(4)]  # each once, in order
        assert set(await statuses(env.app, ids)) == {"sent"}
    finally:
        await env.close()


async def test_a_channel_wide_429_pauses_every_recipient(settings, clock, fake_ding):
    env = await make_env(settings, clock, fake_ding)
    try:
        await enqueue(env.app, [OutboundMessage(ConversationKey("dingtalk", "a"), "一")])
        fake_ding.state.failures = [(429, {"code": "Throttling"}, {"Retry-After": "120"})]
        assert await env.app.outbox.run_once() == 0
        await enqueue(env.app, [OutboundMessage(ConversationKey("dingtalk", "b"), "二")])
        clock.advance(seconds=60)
        assert await env.app.outbox.run_once() == 0  # b waits too: the whole app is throttled
        assert fake_ding.state.delivered == []
        clock.advance(seconds=61)
        assert await env.app.outbox.run_once() == 2
    finally:
        await env.close()


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after():
    policy = RetryPolicy(max_attempts=8, base_seconds=5, cap_seconds=600)
    rng = random.Random(1)
    delays = [policy.delay(n, rng, None) for n in range(1, 9)]
    for n, d in enumerate(delays, start=1):
        full = min(600, 5 * 2 ** (n - 1))
        assert full / 2 <= d <= full
    assert len({round(d, 3) for d in delays}) == len(delays)
    assert policy.delay(1, rng, 90) == 90


async def test_dead_letter_after_max_attempts_then_admin_lists_and_retries(settings, clock, fake_ding, monkeypatch,
                                                                             capsys):
    env = await make_env(with_attempts(settings, 3), clock, fake_ding)
    try:
        [oid] = await enqueue(env.app, [OutboundMessage(ConversationKey("dingtalk", "u1"), "办结通知")])
        fake_ding.state.failures = [(500, {"code": "ServiceUnavailable"}, {})] * 3
        for _ in range(3):
            await env.app.outbox.run_once()
            clock.advance(hours=1)
        assert await statuses(env.app, [oid]) == ["dead"]
        # A later message to the same person is not held back forever by a dead one.
        [later] = await enqueue(env.app, [OutboundMessage(ConversationKey("dingtalk", "u1"), "后续通知")])
        assert await env.app.outbox.run_once() == 1

        monkeypatch.setenv("QIHU_DATABASE__URL", env.app.settings.database.url)
        await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "outbox", "list"])
        out = capsys.readouterr().out
        assert re.search(rf"^{oid}\tdead\t3\tdingtalk:u1\t.*HTTP 500.*办结通知", out, re.M)
        assert f"{later}\t" not in out  # only dead letters by default
        await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "outbox", "retry", str(oid)])
        assert "已重新排队" in capsys.readouterr().out
        # The CLI stamps the retry with the real clock: move the frozen one past it, whatever today is.
        clock.at = max(clock.at, datetime.now(UTC)) + timedelta(minutes=1)
        assert await env.app.outbox.run_once() == 1
        assert [d.msg["content"] for d in fake_ding.state.delivered] == ["后续通知", "办结通知"]
        with pytest.raises(SystemExit, match="不存在或已发送"):
            await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "outbox", "retry", str(oid)])
    finally:
        await env.close()


async def test_staff_bind_with_a_one_time_code(settings, clock, fake_ding, monkeypatch, capsys):
    env = await make_env(settings, clock, fake_ding)
    try:
        monkeypatch.setenv("QIHU_DATABASE__URL", env.app.settings.database.url)
        await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "staff", "bind-code", "li-gdgs"])
        code = re.search(r"绑定码：([A-Z0-9]{8})", capsys.readouterr().out).group(1)
        with pytest.raises(SystemExit, match="没有编号为 nobody"):
            await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "staff", "bind-code", "nobody"])

        claimant = DingUser(env, "user666")
        assert "绑定码无效、已使用或已过期" in await claimant.say("绑定 ABCDEFGH")
        assert "请按格式发送：绑定" in await claimant.say("绑定")
        assert "企业诉求服务" in await claimant.say("帮助")  # still an enterprise user

        li = DingUser(env, "user777", "李工")
        reply = await li.say(f"绑定 {code.lower()[:4]} {code.lower()[4:]}")
        assert "绑定成功：您已作为承办人（李工，国网示范县供电公司）" in reply and "gdgs" not in reply
        assert "工作人员 · 承办人" in await li.say("帮助")
        assert "绑定码无效、已使用或已过期" in await claimant.say(f"绑定 {code}")  # used up
        async with env.app.runtime.uow() as uow:
            assert (await uow.directory.identity(ConversationKey("dingtalk", "user777"))).role == "handler"
            assert (await uow.directory.identity(ConversationKey("dingtalk", "user666"))).role == "enterprise"
            expiring = await issue_bind_code(uow, "chen-dispatch", clock.now(), timedelta(hours=1))
            await uow.commit()
        clock.advance(hours=2)
        assert "已过期" in await claimant.say(f"绑定{expiring}")
        async with env.app.runtime.uow() as uow:
            assert (await uow.directory.identity(ConversationKey("dingtalk", "user666"))).role == "enterprise"
    finally:
        await env.close()


async def test_a_new_bind_code_revokes_the_old_one_and_only_hashes_are_stored(settings, clock, fake_ding):
    env = await make_env(settings, clock, fake_ding)
    try:
        async with env.app.runtime.uow() as uow:
            first = await issue_bind_code(uow, "li-gdgs", clock.now(), timedelta(hours=72))
            await uow.commit()
        async with env.app.runtime.uow() as uow:
            second = await issue_bind_code(uow, "li-gdgs", clock.now(), timedelta(hours=72))
            other = await issue_bind_code(uow, "chen-dispatch", clock.now(), timedelta(hours=72))
            await uow.commit()
        # Whoever reads the table (a backup, a report account) finds no usable code in it.
        async with env.app.database.engine.connect() as conn:
            stored = [tuple(r) for r in (await conn.execute(select(t.bind_codes))).all()]
        assert len(stored) == 3 and not any(code in repr(stored) for code in (first, second, other))

        li = DingUser(env, "user777", "李工")
        assert "绑定码无效、已使用或已过期" in await li.say(f"绑定 {first}")  # replaced by the second
        assert "绑定成功" in await li.say(f"绑定 {second}")
        chen = DingUser(env, "user888", "陈晓")
        assert "绑定成功" in await chen.say(f"绑定 {other}")  # another member's code is untouched
    finally:
        await env.close()


@pytest.mark.parametrize("hours", ["0", "-5", "721", "100000000"])
async def test_bind_code_hours_outside_1_to_720_are_refused_in_one_line(settings, clock, fake_ding, monkeypatch,
                                                                        hours):
    env = await make_env(settings, clock, fake_ding)
    try:
        monkeypatch.setenv("QIHU_DATABASE__URL", env.app.settings.database.url)
        with pytest.raises(SystemExit) as refused:
            await asyncio.to_thread(cli.main, ["--config", str(EXAMPLE_CONFIG), "staff", "bind-code", "li-gdgs",
                                               "--hours", hours])
        message = str(refused.value)
        assert "--hours 应在 1 到 720 之间" in message and f"当前 {hours}" in message and "\n" not in message
        async with env.app.database.engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(t.bind_codes))).scalar_one() == 0
    finally:
        await env.close()
