"""个人信息保护法 in the log: phone numbers masked in every form people type, through the real logging
set-up of the qihu command; what people wrote is logged only when [logging] log_message_text asks."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logsetup import configure_logging
from tests.conftest import Chat, start_app
from tests.integration.test_filing_dialogue import file_first_appeal

# (as typed, what must not reach the log, what the log shows instead)
FORMS = [
    ("１３９１１１１２２２２", "１３９１１１１２２２２", "139****2222"),
    ("139.1111.3333", "139.1111.3333", "139****3333"),
    ("139 1111 4444", "139 1111 4444", "139****4444"),
    ("139-1111-5555", "1111-5555", "139****5555"),
    ("+86 139 1111 6666", "139 1111 6666", "139****6666"),
    ("+8613911117777", "13911117777", "139****7777"),
    ("0086-139-1111-8888", "1111-8888", "139****8888"),
    ("＋８６ １３９ １１１１ ９９９９", "１１１１ ９９９９", "139****9999"),
    ("0571-88886666", "88886666", "0571-****6666"),
    ("0571 8888 7777", "8888 7777", "0571-****7777"),
    ("（０５７１）８８８８５５５５", "８８８８５５５５", "0571-****5555"),
    ("0571-88884444转123", "88884444", "0571-****4444-***"),
    ("010-62345678 分机 8", "62345678", "010-****5678-***"),
    ("座机 8888 3333", "8888 3333", "座机 ****3333"),
]


@pytest.fixture
def log_stream():  # type: ignore[no-untyped-def]
    """The handler `qihu` installs, writing to a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


async def test_every_typed_form_of_a_phone_is_masked_in_the_log(settings, clock, log_stream):
    settings = settings.model_copy(update={"logging": settings.logging.model_copy(
        update={"log_message_text": True})})
    app = await start_app(settings, clock)
    try:
        chat = Chat(app, "ent-log")
        number = await file_first_appeal(chat)
        for typed, _, _ in FORMS:
            assert "已将补充内容记入" in await chat.say(f"补充 {number} 新电话 {typed}")
    finally:
        await app.close()
    logs = log_stream.getvalue()
    assert "turn web:ent-log" in logs
    assert "新电话" in logs  # the debugging option is on: the text is there, with its phones masked
    for typed, secret, shown in FORMS:
        assert secret not in logs, typed
        assert shown in logs, typed
    assert "13800138000" not in logs and "138 0013 8000" not in logs


async def test_text_stays_out_of_the_log_by_default(app, chat, log_stream):
    number = await file_first_appeal(chat)
    await chat.say(f"补充 {number} 新电话 139.1111.3333 请找王经理")
    logs = log_stream.getvalue()
    assert number in logs  # the audit line is still there ...
    assert "王经理" not in logs and "新电话" not in logs and "1111" not in logs  # ... without the text


def test_any_logger_is_masked_also_in_tracebacks(log_stream):
    log = logging.getLogger("bot.channels.some_channel")
    log.warning("callback from %s refused", "１３９１１１１２２２２")
    try:
        raise ValueError("bad phone 139.1111.3333")
    except ValueError:
        log.exception("failed for %s", "0571-88886666")
    logs = log_stream.getvalue()
    assert "139****2222" in logs and "139****3333" in logs and "0571-****6666" in logs
    assert "１３９１" not in logs and "1111.3333" not in logs and "88886666" not in logs
    assert "ValueError" in logs
