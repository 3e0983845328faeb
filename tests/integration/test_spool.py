"""Issue 14 §5: nothing lost while the database is down. PostgreSQL is cut with a TCP relay the test
closes and reopens; DingTalk gets 200 only for what is stored or spooled; the spool replays in order."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, make_url, select

from bot import texts
from bot.messages import ConversationKey, InboundMessage
from bot.spool import Spool
from storage import tables as t
from tests.conftest import PG_URL, SHANGHAI, Chat, start_app
from tests.e2e.server_process import ServerProcess
from tests.fake_servers import FakeDingTalk
from tests.integration.dingtalk_env import DingUser, delivered_text, make_env

PROBLEM = "我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复，影响投产"
USCC = "91330825MA2DH4KX39"


class Relay:
    """127.0.0.1:<port> → PostgreSQL. close() drops every connection and stops listening (the database
    is gone for the app); reopen() listens on the same port again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> Relay:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    reopen = open

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.close()
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None


pg_only = pytest.mark.skipif(not PG_URL, reason="the relay cuts PostgreSQL (QIHU_TEST_DATABASE_URL)")


@pytest.fixture
async def fake_ding():
    server = await FakeDingTalk().start()
    yield server
    await server.close()


@pytest.fixture
async def relay(database_url):  # type: ignore[no-untyped-def]
    url = make_url(database_url)
    r = await Relay(url.host or "127.0.0.1", url.port or 5432).open()
    yield r
    if r.server is not None:
        await r.close()


def through(settings, relay: Relay):  # type: ignore[no-untyped-def]
    url = make_url(settings.database.url).set(host="127.0.0.1", port=relay.port)
    db = settings.database.model_copy(update={"url": url.render_as_string(hide_password=False)})
    return settings.model_copy(update={"database": db})


async def stored_messages(app) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(t.inbound_messages))).scalar_one()


@pg_only
async def test_database_cut_mid_dialogue_nothing_lost_nothing_doubled(settings, clock, fake_ding, relay):
    ding = await make_env(through(settings, relay), clock, fake_ding)
    try:
        user = DingUser(ding, "user001")
        assert "企业全称" in await user.say(PROBLEM)
        await relay.close()  # PostgreSQL is gone

        # Each message is answered 200 only once it is on disk; the person is told, once, that it was received.
        before = len(fake_ding.state.delivered)
        company = user.payload("示范精密机械有限公司")
        uscc = user.payload(USCC)
        for body in (company, uscc, uscc):  # the last is DingTalk sending the same msgId again
            resp = await user.post(body)
            assert resp.status == 200, await resp.text()
        await ding.channel.drain()
        told = [delivered_text(d.msg) for d in fake_ding.state.delivered[before:]]
        assert told == [texts.SPOOLED_NOTICE]
        assert ding.app.spool.depth == 3
        assert oct(ding.app.spool.path.stat().st_mode & 0o777) == "0o600"  # it holds what people wrote

        # Operators see it: /readyz names the spool, /metrics counts it.
        ready = await ding.client.get("/readyz")
        body = await ready.json()
        assert ready.status == 503 and any("暂存" in p and "3 条" in p for p in body["problems"])
        page = await (await ding.client.get("/metrics")).text()
        assert re.search(r"^qihu_spool_entries 3\.0$", page, re.MULTILINE)

        await relay.reopen()  # PostgreSQL is back: the replay stores both turns, in order, once
        assert await ding.app.spool.replay() == 3
        assert ding.app.spool.depth == 0 and not ding.app.spool.path.exists()
        answers = await user.replies()
        assert answers.count("统一社会信用代码") == 1 and answers.count("联系人姓名") == 1
        assert answers.index("统一社会信用代码") < answers.index("联系人姓名")
        assert await stored_messages(ding.app) == 3  # PROBLEM, company, USCC: the repeat is not doubled
        assert "手机号" in await user.say("张伟")  # the dialogue goes on where it was
        assert "qihu_spool_entries 0.0" in await (await ding.client.get("/metrics")).text()
    finally:
        await ding.close()


@pg_only
async def test_messages_after_the_cut_wait_behind_the_spooled_ones(settings, clock, fake_ding, relay):
    """Once something is spooled, later messages queue behind it even if the database is back meanwhile."""
    ding = await make_env(through(settings, relay), clock, fake_ding)
    try:
        user = DingUser(ding, "user001")
        assert "企业全称" in await user.say(PROBLEM)
        await relay.close()
        assert (await user.post(user.payload("示范精密机械有限公司"))).status == 200
        await ding.channel.drain()
        await relay.reopen()
        assert (await user.post(user.payload(USCC))).status == 200  # the database answers, but it queues
        await ding.channel.drain()
        await ding.app.spool.settle()
        await ding.app.spool.replay()
        answers = await user.replies()
        assert answers.index("统一社会信用代码") < answers.index("联系人姓名")
    finally:
        await ding.close()


@pg_only
async def test_callback_is_refused_when_neither_stored_nor_spooled(settings, clock, fake_ding, relay, tmp_path):
    """A spool that cannot be written (here: its directory became a file) means no 200: DingTalk sends again."""
    blocked = tmp_path / "spool-dir"
    cfg = through(settings, relay)
    cfg = cfg.model_copy(update={"spool": cfg.spool.model_copy(update={"path": str(blocked / "spool.jsonl")})})
    ding = await make_env(cfg, clock, fake_ding)
    try:
        user = DingUser(ding, "user001")
        blocked.write_text("")  # the disk refuses: no directory can be made there
        await relay.close()
        resp = await user.post(user.payload(PROBLEM))
        assert resp.status == 503 and "稍后重发" in (await resp.json())["error"]
        await relay.reopen()
        assert await stored_messages(ding.app) == 0
    finally:
        await ding.close()


async def test_restart_with_a_non_empty_spool_replays_it(database_url, settings, clock, tmp_path):
    """A server that stopped with turns in its spool stores them when it starts, before it listens."""
    path = tmp_path / "work" / "qihu-spool.jsonl"
    app = await start_app(settings, clock)  # migrates the database the server will use
    await app.close()
    # What the DingTalk channel kept while the database was away, then the process stopped.
    spool = Spool(path, clock)
    key = ConversationKey("dingtalk", "user009")
    for n, said in enumerate((PROBLEM, "示范精密机械有限公司", "示范精密机械有限公司"[:4]), start=1):
        assert spool.keep(InboundMessage(key, said, f"m{n if n < 3 else 2}", clock.now()))
    assert spool.depth == 3

    server = ServerProcess(database_url, tmp_path / "work")
    server.env["QIHU_SPOOL__PATH"] = str(path)
    server.start()
    try:
        assert not path.exists()
        app = await start_app(settings, clock)
        try:
            async with app.database.engine.connect() as conn:
                ids = (await conn.execute(select(t.inbound_messages.c.message_id)
                                          .where(t.inbound_messages.c.channel == "dingtalk"))).scalars().all()
                rows = (await conn.execute(select(t.outbox.c.body).where(t.outbox.c.recipient == "user009")
                                           .order_by(t.outbox.c.id))).scalars().all()
            assert sorted(ids) == ["m1", "m2"]  # in order, and m2's second copy was not run again
            said = [json.loads(b)["text"] if isinstance(b, str) else b["text"] for b in rows]
            assert "企业全称" in said[0] and "统一社会信用代码" in said[1] and len(said) == 2
        finally:
            await app.close()
    finally:
        server.stop()
    assert any("replaying" in line for line in server.output)


@pg_only
async def test_telegram_update_taken_while_the_database_is_cut_is_answered_after(settings, clock, relay):
    """Telegram too: the update is kept (polling would have moved past it), the person told, then answered."""
    from aiohttp.test_utils import TestClient, TestServer
    from pydantic import SecretStr

    from bot.config import ChannelsConfig, TelegramConfig
    from bot.server import make_web_app
    from tests.fake_servers import FakeTelegram
    from tests.integration.test_telegram_channel import SECRET, TOKEN, TgEnv, TgUser

    fake = await FakeTelegram(TOKEN, clock).start()
    cfg = TelegramConfig(enabled=True, token=SecretStr(TOKEN), webhook_secret=SecretStr(SECRET),
                         base_url=fake.base_url)
    app = await start_app(through(settings, relay).model_copy(
        update={"channels": ChannelsConfig(telegram=cfg)}), clock)

    async def frozen_sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    app.channels[0].sender.sleep = frozen_sleep
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        user = TgUser(TgEnv(app, client, fake, clock), 42)
        assert "企业全称" in await user.say(PROBLEM)
        await relay.close()
        resp = await user.env.post(user.update("示范精密机械有限公司"))
        assert resp.status == 200
        assert fake.sent(42)[-1]["text"] == texts.SPOOLED_NOTICE
        await relay.reopen()
        assert await app.spool.replay() == 1
        answers = await user.replies()
        assert answers.count("统一社会信用代码") == 1
    finally:
        await client.close()
        await app.close()
        await fake.close()


async def test_a_line_cut_by_a_crash_is_skipped_and_the_whole_ones_replayed(app, clock):
    """Only a line whose fsync never finished can be broken, and that one was never acknowledged."""
    key = ConversationKey("dingtalk", "user010")
    app.spool.keep(InboundMessage(key, PROBLEM, "c1", clock.now()))
    with app.spool.path.open("ab") as fh:
        fh.write(b'{"v": 1, "spooled_at": "2026-11-25T10:00:00+08:00", "chan')
    reread = Spool(app.spool.path, clock)
    reread.attach(app.handle_spooled)
    assert reread.depth == 1
    assert await reread.replay() == 1 and await stored_messages(app) == 1


async def test_an_entry_refused_for_another_reason_is_set_aside_and_the_rest_go_on(app, clock):
    key = ConversationKey("dingtalk", "user011")
    for n, said in enumerate((PROBLEM, "示范精密机械有限公司", USCC), start=1):
        app.spool.keep(InboundMessage(key, said, f"r{n}", clock.now()))

    async def handle(msg: InboundMessage) -> None:
        if msg.message_id == "r2":
            raise ValueError("a bug, not an outage")
        await app.handle_spooled(msg)

    app.spool.attach(handle)
    assert await app.spool.replay() == 3 and app.spool.depth == 0
    assert await stored_messages(app) == 2
    [line] = app.spool.failed_path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["message_id"] == "r2" and json.loads(line)["text"] == "示范精密机械有限公司"


async def test_a_turn_still_running_at_ack_time_is_spooled_before_the_200_and_not_doubled(settings, clock):
    """Answered before its turn finished: the message is on disk first; its replay is a duplicate."""
    fake = await FakeDingTalk().start()
    ding = await make_env(settings, clock, fake)
    try:
        ding.channel.callback.cfg = ding.channel.callback.cfg.model_copy(update={"ack_seconds": 1e-9})
        user = DingUser(ding, "user001")
        resp = await user.post(user.payload(PROBLEM, "slow-1"))
        assert resp.status == 200
        assert ding.app.spool.depth == 1  # kept before the 200, while the turn was still running
        assert "企业全称" in await user.replies()
        assert await ding.app.spool.replay() == 1 and ding.app.spool.depth == 0
        assert await user.replies() == ""  # the replay found it stored: nothing said twice
        assert await stored_messages(ding.app) == 1
    finally:
        await ding.close()
        await fake.close()


async def test_a_replayed_turn_happens_when_it_arrived_not_when_the_database_came_back(app, clock):
    """Filed at 23:58 while the database was away, replayed at 00:03: the appeal is the 25th's, submitted
    at 23:58, and promised by the 25th's deadline (replay time would give the 26th's number and a later
    date). The spool's own path: the line a channel keeps when the turn could not be stored."""
    clock.advance(hours=13, minutes=50)  # Wednesday 23:50
    chat = Chat(app, "ent-1", "dingtalk")
    for said in (PROBLEM, "示范精密机械有限公司", USCC, "张伟", "138 0013 8000", "溪口镇", "1"):
        await chat.say(said)
    clock.advance(minutes=8)
    arrived = clock.now()  # 23:58: 确认提交 arrives, the database does not answer
    assert app.spool.keep(InboundMessage(chat.key, "确认提交", "confirm-1", arrived))
    clock.advance(minutes=5)  # Thursday 00:03: the database is back
    assert await app.spool.replay() == 1
    async with app.runtime.uow() as uow:
        appeal = await uow.appeals.get("QH20261125-0001")
        events = await uow.appeals.events("QH20261125-0001")
    assert appeal is not None and appeal.submitted_at == arrived and events[-1].at == arrived
    # Wednesday's promise, as test_first_filing_lands_in_pool_with_number_deadline_and_event computes it.
    assert appeal.promised_at.astimezone(SHANGHAI).date() == datetime(2026, 12, 4).date()
