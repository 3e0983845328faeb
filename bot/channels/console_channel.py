"""Console chat (`qihu chat`): stdin lines in, numbered-choice text out, same pipeline and outbox."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from typing import Any

from bot.channels.ports import ChannelHost
from bot.messages import Choice, ConversationKey, InboundMessage, render_numbered
from bot.pipeline import TurnRejected

CHANNEL = "console"


class ConsoleSender:
    def __init__(self, user: str, write: Callable[[str], None] = print) -> None:
        self.user = user
        self.write = write

    async def send(self, recipient: str, body: dict[str, Any], *, outbox_id: int) -> None:
        choices = [Choice(**c) for c in body.get("choices", [])]
        prefix = "" if recipient == self.user else f"[→ {recipient}] "
        text = body.get("text", "") + (f"\n📎 {body['link']['url']}" if body.get("link") else "")
        self.write(f"企呼> {prefix}" + render_numbered(text, choices).replace("\n", "\n      "))


async def console_loop(app: ChannelHost, user: str, read: Callable[[], str] = input) -> None:
    """Read lines until EOF or 退出聊天; each line is one turn, its replies printed right after."""
    print("企呼 控制台聊天（输入「帮助」查看命令，Ctrl-D 或「退出聊天」结束）")
    key = ConversationKey(CHANNEL, user)
    while True:
        try:
            line = await asyncio.to_thread(read)
        except EOFError:
            break
        if line.strip() == "退出聊天":
            break
        if not line.strip():
            continue
        try:
            await app.pipeline.handle(InboundMessage(key, line, uuid.uuid4().hex, app.clock.now()))
        except TurnRejected as exc:  # stdin's undecodable bytes arrive as lone surrogates; NUL
            print(f"企呼> {exc.reason}")
            continue
        await app.outbox.run_once()
        sys.stdout.flush()
