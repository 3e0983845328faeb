"""The Telegram channel end to end: webhook updates in, the real python-telegram-bot client out to a fake Bot API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select

from bot import texts
from bot.channels.telegram_channel import WEBHOOK_PATH, TelegramChannel, callback_data
from bot.config import ChannelsConfig, TelegramConfig
from bot.domain.appeal import Source
from bot.messages import Choice, ConversationKey, OutboundMessage
from bot.server import make_web_app
from storage import tables as t
from tests.conftest import start_app
from tests.fake_servers import FakeTelegram

TOKEN = "123456:TEST-token_abc"
SECRET = "hook-secret_42"
PROBLEM = "我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复，影响投产"
USCC = "91330825MA2DH4KX39"


async def count(app, table) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


class TgEnv:
    def __init__(self, app, client, fake, clock) -> None:  # type: ignore[no-untyped-def]
        self.app, self.client, self.fake, self.clock = app, client, fake, clock
        self.next_update = 1000

    @property
    def channel(self) -> TelegramChannel:
        return self.app.channels[0]

    async def post(self, update: dict[str, Any], secret: str | None = SECRET):  # type: ignore[no-untyped-def]
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post(WEBHOOK_PATH, json=update, headers=headers)


@pytest.fixture
async def tg(settings, clock):
    fake = await FakeTelegram(TOKEN, clock).start()
    cfg = TelegramConfig(enabled=True, token=SecretStr(TOKEN), webhook_secret=SecretStr(SECRET),
                         base_url=fake.base_url)
    app = await start_app(settings.model_copy(update={"channels": ChannelsConfig(telegram=cfg)}), clock)

    async def frozen_sleep(seconds: float) -> None:  # waiting moves the frozen clock instead
        clock.advance(seconds=seconds)

    app.channels[0].sender.sleep = frozen_sleep
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    yield TgEnv(app, client, fake, clock)
    await client.close()
    await app.close()
    await fake.close()


class TgUser:
    def __init__(self, env: TgEnv, user_id: int) -> None:
        self.env = env
        self.user_id = user_id
        self.seen = 0
        self.keyboard: list[dict[str, str]] = []

    def _from(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "伟", "last_name": "张"}

    def update(self, text: str) -> dict[str, Any]:
        self.env.next_update += 1
        date = int(self.env.clock.now().timestamp())
        return {"update_id": self.env.next_update, "message": {
            "message_id": self.env.next_update, "date": date, "text": text, "from": self._from(),
            "chat": {"id": self.user_id, "type": "private", "first_name": "伟"}}}

    async def replies(self) -> str:
        await self.env.app.outbox.run_once()
        mine = self.env.fake.sent(self.user_id)
        new, self.seen = mine[self.seen:], len(mine)
        if new and "reply_markup" in new[-1]:
            import json
            self.keyboard = [row[0] for row in json.loads(new[-1]["reply_markup"])["inline_keyboard"]]
        elif new:
            self.keyboard = []
        return "\n".join(m["text"] for m in new)

    async def say(self, text: str) -> str:
        resp = await self.env.post(self.update(text))
        assert resp.status == 200, await resp.text()
        return await self.replies()

    async def press(self, label_start: str) -> str:
        [button] = [b for b in self.keyboard if b["text"].split(". ", 1)[1].startswith(label_start)]
        self.env.next_update += 1
        date = int(self.env.clock.now().timestamp())
        update = {"update_id": self.env.next_update, "callback_query": {
            "id": f"cbq-{self.env.next_update}", "chat_instance": "ci-1", "data": button["callback_data"],
            "from": self._from(), "message": {"message_id": 8, "date": date,
                                              "chat": {"id": self.user_id, "type": "private"}, "text": "…"}}}
        resp = await self.env.post(update)
        assert resp.status == 200
        assert f"cbq-{self.env.next_update}" in self.env.fake.answered()  # every press is answered
        return await self.replies()


async def test_whole_filing_conversation_over_telegram(tg):
    user = TgUser(tg, 42)
    assert "企业全称" in await user.say(PROBLEM)
    assert "统一社会信用代码" in await user.say("示范精密机械有限公司")
    assert "联系人姓名" in await user.say(USCC)
    assert "手机号" in await user.say("张伟")
    assert "乡镇" in await user.say("13800138000")
    assert user.keyboard and all(len(b["callback_data"].encode()) <= 64 for b in user.keyboard)
    assert "建议归入" in await user.press("溪口镇")
    summary = await user.press("水电气能源")
    assert "请确认" in summary and "溪口镇" in summary
    done = await user.press("确认提交")
    assert "诉求已登记，编号 QH20261125-0001" in done
    async with tg.app.runtime.uow() as uow:
        appeal = await uow.appeals.get("QH20261125-0001")
    assert appeal.source == Source.TELEGRAM and appeal.filer_external_id == "42"
    assert tg.fake.flood_refusals == 0


async def test_bad_or_missing_secret_is_refused_and_nothing_stored(tg):
    user = TgUser(tg, 42)
    assert (await tg.post(user.update(PROBLEM), secret=None)).status == 401
    assert (await tg.post(user.update(PROBLEM), secret="hook-secret_43")).status == 403
    assert (await tg.post(user.update(PROBLEM), secret=SECRET + "x")).status == 403
    resp = await tg.client.post(WEBHOOK_PATH, data=b"nope", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert resp.status == 400
    resp = await tg.post({"hello": 1})
    assert resp.status == 400
    # PTB takes any JSON value as an id; one that is not an integer is refused (fuzzing on PostgreSQL
    # found a list whose text overflowed the recipient column: a 503).
    for bad in ([{"a": 1}, 2], "42", 4.2, True, 10 ** 200):
        update = user.update("帮助")
        update["message"]["from"]["id"] = bad
        resp = await tg.post(update)
        assert resp.status == 400, bad
        assert "不是整数" in (await resp.json())["error"]
    update = user.update("帮助")
    update["message"]["chat"]["id"] = {"x": 1}
    assert (await tg.post(update)).status == 400
    for table in (t.inbound_messages, t.outbox, t.conversations):
        assert await count(tg.app, table) == 0
    assert tg.fake.sent() == []


async def test_duplicate_update_id_is_ignored(tg):
    user = TgUser(tg, 42)
    update = user.update("帮助")
    results = await asyncio.gather(tg.post(update), tg.post(update))
    assert [r.status for r in results] == [200, 200]
    assert (await tg.post(update)).status == 200
    assert (await user.replies()).count("企业诉求服务") == 1


def test_callback_data_fits_in_64_bytes():
    short = Choice("确认提交", "确认提交")
    long = Choice("补充到 QH20261125-0001（水电气能源）", "补充到 QH20261125-0001（水电气能源）和更多说明文字")
    assert callback_data(short, 1) == "c:确认提交"
    assert callback_data(long, 2) == "n:2"
    assert len(callback_data(long, 2).encode()) <= 64


async def test_flood_limits_are_respected_and_retry_after_honoured(tg):
    key = ConversationKey("telegram", "77")
    async with tg.app.runtime.uow() as uow:
        ids = await uow.outbox.add([OutboundMessage(key, f"第{i}条") for i in range(3)], tg.clock.now())
        await uow.commit()
    start = tg.clock.now()
    assert await tg.app.outbox.run_once() == 3
    assert (tg.clock.now() - start).total_seconds() >= 2  # spaced one second apart per chat
    assert tg.fake.flood_refusals == 0
    assert [m["text"] for m in tg.fake.sent(77)] == ["第0条", "第1条", "第2条"]

    tg.fake.failures.append((429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 9",
                                   "parameters": {"retry_after": 9}}, {}))
    async with tg.app.runtime.uow() as uow:
        [oid] = await uow.outbox.add([OutboundMessage(key, "第3条")], tg.clock.now())
        await uow.commit()
    tg.clock.advance(seconds=5)
    assert await tg.app.outbox.run_once() == 0
    async with tg.app.runtime.uow() as uow:
        row = await uow.outbox.get(oid)
    assert row.status == "pending" and (row.next_attempt_at - tg.clock.now()).total_seconds() >= 9
    tg.clock.advance(seconds=10)
    assert await tg.app.outbox.run_once() == 1
    assert ids and [m["text"] for m in tg.fake.sent(77)][-1] == "第3条"


async def test_blocked_user_is_a_dead_letter_not_a_retry_loop(tg):
    tg.fake.failures.append((403, {"ok": False, "error_code": 403,
                                   "description": "Forbidden: bot was blocked by the user"}, {}))
    async with tg.app.runtime.uow() as uow:
        [oid] = await uow.outbox.add([OutboundMessage(ConversationKey("telegram", "88"), "通知")], tg.clock.now())
        await uow.commit()
    await tg.app.outbox.run_once()
    async with tg.app.runtime.uow() as uow:
        row = await uow.outbox.get(oid)
    assert row.status == "dead" and "blocked" in row.last_error


async def test_polling_mode_feeds_the_same_pipeline(settings, clock):
    fake = await FakeTelegram(TOKEN, clock).start()
    cfg = TelegramConfig(enabled=True, token=SecretStr(TOKEN), mode="polling", base_url=fake.base_url)
    app = await start_app(settings.model_copy(update={"channels": ChannelsConfig(telegram=cfg)}), clock)
    try:
        channel: TelegramChannel = app.channels[0]

        async def frozen_sleep(seconds: float) -> None:
            clock.advance(seconds=seconds)

        channel.sender.sleep = frozen_sleep
        assert channel.routes() == []  # no webhook route in polling mode
        await channel.ensure_bot()
        user = TgUser(TgEnv(app, None, fake, clock), 55)
        fake.updates = [user.update("帮助"), user.update("我要反映")]
        assert await channel.poll_once(timeout=0) == 2
        fake.updates.append(user.update("取消"))
        assert await channel.poll_once(timeout=0) == 1  # the offset skips what was handled
        await app.outbox.run_once()
        texts = [m["text"] for m in fake.sent(55)]
        assert len(texts) == 3 and "企业诉求服务" in texts[0] and "已取消" in texts[2]
    finally:
        await app.close()
        await fake.close()


async def test_nul_or_a_lone_surrogate_fetched_by_polling_is_refused_with_the_reason(settings, clock):
    """Issue 14 §6 on the channel no HTTP check covers: PostgreSQL refuses NUL in text and UTF-8 cannot encode a
    lone surrogate. Such an update is refused before anything is stored; the person is told why; polling goes on."""
    fake = await FakeTelegram(TOKEN, clock).start()
    cfg = TelegramConfig(enabled=True, token=SecretStr(TOKEN), mode="polling", base_url=fake.base_url)
    app = await start_app(settings.model_copy(update={"channels": ChannelsConfig(telegram=cfg)}), clock)
    try:
        channel: TelegramChannel = app.channels[0]

        async def frozen_sleep(seconds: float) -> None:
            clock.advance(seconds=seconds)

        channel.sender.sleep = frozen_sleep
        await channel.ensure_bot()
        user = TgUser(TgEnv(app, None, fake, clock), 55)
        surrogate_name = user.update("查询")
        surrogate_name["message"]["from"]["first_name"] = "伟\ud800"
        fake.updates = [user.update("查询\x00 QH20261125-0001"), user.update("停电\udfff了"), surrogate_name]
        assert await channel.poll_once(timeout=0) == 3  # no exception: the poller does not stall on them
        assert [m["text"] for m in fake.sent(55)] == [texts.UNSTORABLE_MESSAGE] * 3
        assert await count(app, t.inbound_messages) == 0 and await count(app, t.conversations) == 0
        assert await count(app, t.outbox) == 0 and app.spool.depth == 0
        fake.updates.append(user.update("帮助"))
        assert await channel.poll_once(timeout=0) == 1
        await app.outbox.run_once()
        assert "企业诉求服务" in fake.sent(55)[-1]["text"]
    finally:
        await app.close()
        await fake.close()


async def test_unsupported_telegram_message_gets_a_polite_answer(tg):
    user = TgUser(tg, 42)
    update = user.update("x")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 1,
                                    "height": 1, "is_animated": False, "is_video": False}
    assert (await tg.post(update)).status == 200
    assert "暂不支持这种消息类型（sticker）" in await user.replies()


async def test_what_a_person_wrote_reaches_telegram_as_plain_text(tg):
    """Issue 14 §4: replies are sent without parse_mode, so HTML or markdown in them is only words."""
    user = TgUser(tg, 42)
    await user.say("<a href=\"https://evil.example\">县政府通知</a> @all 我们公司变压器报装两个月没有答复")
    await user.say("[县政府通知](https://evil.example/a) <b>有限公司</b>")
    await user.say(USCC)
    await user.say("张伟")  # "@all 张伟" is no person's name: the contact step refuses it
    await user.say("13800138000")
    await user.press("溪口镇")
    summary = await user.press("水电气能源")
    assert "[县政府通知](https://evil.example/a) <b>有限公司</b>" in summary  # verbatim, as words
    assert "@all 我们公司" in summary
    for sent in tg.fake.sent(42):
        assert "parse_mode" not in sent and "entities" not in sent
