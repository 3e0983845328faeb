"""NUL and lone surrogates on the ways in that no HTTP body check covers: the console (stdin's undecodable
bytes arrive as lone surrogates) and the web chat's pipeline check; refused with the reason, nothing stored."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import texts
from bot.channels.console_channel import CHANNEL, ConsoleSender, console_loop
from bot.messages import ConversationKey, InboundMessage
from bot.pipeline import TurnRejected
from storage import tables as t


async def count(app, table) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_the_console_refuses_nul_and_undecodable_bytes_and_goes_on(app, capsys):
    printed: list[str] = []
    app.outbox.senders[CHANNEL] = ConsoleSender("ent-c", printed.append)
    lines = iter(["查询\x00", "停电了\udcff", "帮助"])  # "\udcff": a byte stdin could not decode (surrogateescape)

    def read() -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    await console_loop(app, "ent-c", read)
    assert capsys.readouterr().out.count(texts.UNSTORABLE_MESSAGE) == 2
    assert len(printed) == 1 and "企业诉求服务" in printed[0]  # the third line was answered as usual
    assert await count(app, t.inbound_messages) == 1 and await count(app, t.conversations) == 1


async def test_every_field_of_a_message_is_checked_before_anything_is_stored(app):
    key = ConversationKey("telegram", "42")
    bad = [InboundMessage(key, "你好", "m1", display_name="伟\x00"),
           InboundMessage(ConversationKey("telegram", "4\ud8002"), "你好", "m2"),
           InboundMessage(key, "你好", "m3\x00"),
           InboundMessage(key, "你好", "m4", reply_context={"chat_id": "\udfff"})]
    for msg in bad:
        try:
            await app.pipeline.handle(msg)
        except TurnRejected as exc:
            assert exc.status == 400 and exc.reason == texts.UNSTORABLE_MESSAGE
        else:
            raise AssertionError(f"{msg} was taken")
    assert await count(app, t.inbound_messages) == 0 and await count(app, t.outbox) == 0
