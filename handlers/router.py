"""Routing of one turn: choices by number, global commands, the current step, commands, free text; and build(),
the one place where every command and step is registered."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from handlers import (
    binding,
    dispatcher_cmds,
    enterprise,
    entry,
    evaluation_cmds,
    filing,
    handler_cmds,
    leader_cmds,
    notices,
    texts,
)
from handlers.registry import CommandRegistry
from handlers.steps import Step
from handlers.turn import Turn


def build() -> CommandRegistry:
    """Every command and step, in the order a message is matched against them; called once at start-up."""
    reg = CommandRegistry()
    for module in (enterprise, binding, handler_cmds, dispatcher_cmds, leader_cmds, entry, evaluation_cmds,
                   notices):
        module.register(reg)
    return reg


CANCEL = {"取消", "/cancel", "退出"}
BACK = {"返回", "/back", "上一步"}
HELP = {"帮助", "/help", "/start", "?", "？", "菜单"}
# A greeting is how most people open a chat: answer it with a welcome and what they can do here.
GREETINGS = {"你好", "您好", "你们好", "在吗", "在不在", "有人吗", "有人在吗", "早上好", "上午好", "中午好",
             "下午好", "晚上好", "早", "嗨", "哈喽", "hi", "hello", "您好请问", "你好请问"}
_GREETING_TAIL = " !！?？。.,，~～、"


# Full-width digits and Latin letters become ASCII; Chinese punctuation stays as typed.
_HALF_WIDTH = str.maketrans(
    {chr(0xFF10 + i): chr(0x30 + i) for i in range(10)}
    | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
    | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
    | {"\u3000": " ", "\uff0d": "-", "\uff0f": "/"}
)


def normalize(text: str) -> str:
    """Half-width digits and letters, collapsed spaces, no control or format characters."""
    text = text.translate(_HALF_WIDTH)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return re.sub(r"[ \t\u3000]+", " ", text).strip()


class Router:
    """Routes a turn through one registry; holds no other state."""

    def __init__(self, registry: CommandRegistry) -> None:
        self.registry = registry

    def help_text(self, turn: Turn) -> str:
        """The role's heading, one line for each command the role may use (from the registry), a closing line."""
        identity, limits = turn.identity, turn.rt.policy.time_limits
        staff = identity.staff
        if staff is None:
            head, tail = texts.HELP_HEAD_ENTERPRISE, texts.HELP_TAIL_ENTERPRISE
        else:
            head = texts.HELP_HEAD_STAFF.format(role=texts.ROLE_LABEL.get(staff.role, staff.role), name=staff.name,
                                                unit=staff.unit_id)
            tail = texts.HELP_TAIL_STAFF
        lines = ["· " + texts.COMMAND_HELP.get(c.names[0], c.names[0]).format(signoff=limits.signoff,
                                                                                 ext=limits.extension_max)
                 for c in self.registry.for_role(identity.role)]
        return "\n".join([head, *lines, tail])

    async def route(self, turn: Turn) -> None:
        """Decide what this message means for this person in their current state, and act on it."""
        text = normalize(turn.msg.text)
        state = turn.state

        if state.step != Step.IDLE and state.updated_at is not None:
            timeout = timedelta(minutes=turn.rt.policy.dialogue_timeout_minutes)
            if turn.now - state.updated_at > timeout:
                turn.reset()
                turn.say(texts.EXPIRED.format(minutes=turn.rt.policy.dialogue_timeout_minutes))
                # Only a command goes on: an answer to the old question (a name, a number) means nothing now.
                if self.registry.split(text)[0] is None and text not in HELP:
                    return

        if text.isdigit() and state.choices:
            n = int(text)
            if 1 <= n <= len(state.choices):
                text = state.choices[n - 1]
            else:
                turn.say(texts.CHOICE_OUT_OF_RANGE.format(n=n, max=len(state.choices)))
                return
        turn.text = text

        if text in CANCEL:
            if turn.step == Step.IDLE:
                turn.say(texts.NOTHING_TO_CANCEL)
            else:
                turn.reset()
                turn.say(texts.CANCELLED)
            return
        if text in HELP:
            turn.say(self.help_text(turn))
            if turn.step.value.startswith("filing."):
                await filing.prompt(turn)
            return
        if text in BACK:
            await _back(turn)
            return

        step = turn.step
        if step != Step.IDLE:
            cmd, _ = self.registry.split(text)
            if cmd is not None and text.split(" ")[0] in cmd.names:
                what = self.registry.step_what.get(step, "操作")
                turn.say(texts.BUSY_IN_DIALOGUE.format(what=what))
                return
            await self.registry.steps[step](turn)
            return

        if not text and turn.msg.attachments:
            await filing.start_filing(turn)
            return
        cmd, arg = self.registry.split(text)
        if cmd is not None:
            await cmd.run(turn, arg)  # the service it calls refuses, saying why, whoever may not use it
            return
        if turn.identity.role == "enterprise" and looks_like_problem(turn, text):
            await enterprise.free_text(turn)
            return
        if text.rstrip(_GREETING_TAIL).lower() in GREETINGS:
            turn.say(texts.GREETING.format(help=self.help_text(turn)))
            return
        turn.say(texts.UNKNOWN_COMMAND.format(text=text[:30], help=self.help_text(turn)))


def looks_like_problem(turn: Turn, text: str) -> bool:
    """Long enough to be a description, or short but naming something our rules know."""
    if len(text) >= turn.rt.policy.text_min_chars:
        return True
    return len(text) >= 4 and turn.rt.tagger.tokenizer.ready and bool(turn.rt.tagger.suggest(text, top=1))


async def _back(turn: Turn) -> None:
    state = turn.state
    if turn.step == Step.IDLE or not state.history or state.history[-1] == Step.IDLE.value:
        turn.say(texts.NOTHING_TO_GO_BACK if turn.step != Step.IDLE else texts.NOTHING_TO_CANCEL)
        if turn.step.value.startswith("filing."):
            await filing.prompt(turn)
        return
    state.step = state.history.pop()
    if turn.step.value.startswith("filing."):
        await filing.prompt(turn)
    else:
        turn.reset()
        turn.say(texts.CANCELLED)
