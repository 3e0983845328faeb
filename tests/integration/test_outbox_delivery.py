"""The outbox: replies written with the turn are delivered once, in order, retried with backoff."""

from __future__ import annotations

from bot.services.delivery import DeliveryError
from tests.conftest import Chat, start_app
from tests.fakes import RecordingSender


async def test_failed_sends_are_retried_in_order_then_dead_lettered(settings, clock):
    sender = RecordingSender()
    app = await start_app(settings, clock, senders={"tg": sender})
    try:
        chat = Chat(app, "ent-1", "tg")  # a channel with a sender: the web chat's mailbox sends nothing
        await chat.say("你好")
        await chat.say("帮助")
        sender.failures = [DeliveryError("HTTP 500"), DeliveryError("HTTP 429", retry_after=120)]
        assert await app.outbox.run_once() == 0  # first row fails: the second waits behind it
        clock.advance(seconds=10)
        assert await app.outbox.run_once() == 0  # second attempt: told to wait 120 s
        clock.advance(seconds=60)
        assert await app.outbox.run_once() == 0  # not due yet
        clock.advance(seconds=61)
        assert await app.outbox.run_once() == 2
        assert [body["text"][:4] for _, body in sender.sent] == ["您好！这", "企呼 ·"]
        assert await app.outbox.run_once() == 0  # nothing is sent twice

        await chat.say("帮助")
        sender.failures = [DeliveryError("unknown user", permanent=True)]
        await app.outbox.run_once()
        async with app.runtime.uow() as uow:
            rows = await uow.outbox.for_recipient("tg", "ent-1", 0, 10)
        assert [r.status for r in rows] == ["sent", "sent", "dead"]
    finally:
        await app.close()


async def test_rolled_back_turn_sends_nothing(settings, clock, monkeypatch):
    sender = RecordingSender()
    app = await start_app(settings, clock, senders={"tg": sender})
    try:
        async def broken(turn):  # type: ignore[no-untyped-def]
            turn.say("this reply must never leave")
            raise RuntimeError("bug in a handler")

        monkeypatch.setattr(app.pipeline.router, "route", broken)
        chat = Chat(app, "ent-1", "tg")  # a channel with a sender: the web chat's mailbox sends nothing
        reply = await chat.say("你好")
        assert "系统暂时无法处理" in reply
        await app.outbox.run_once()
        assert [body["text"] for _, body in sender.sent] == [reply]
    finally:
        await app.close()


async def test_the_web_chats_replies_are_delivered_by_being_stored(app, chat):
    # The web chat is a mailbox (bot.messages.MAILBOX_CHANNELS): its page fetches what is stored.
    await chat.say("你好")
    async with app.runtime.uow() as uow:
        [row] = await uow.outbox.for_recipient("web", "ent-1", 0, 10)
    assert (row.status, row.sent_at, row.attempts) == ("sent", app.runtime.now(), 0)
    assert await app.outbox.run_once() == 0  # no sender takes it
