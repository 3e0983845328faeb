"""Routing of one turn: choices by number, global commands, the current step, commands, free text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from handlers import binding, enterprise, filing, texts
from handlers.steps import Step
from handlers.turn import Turn

CommandFn = Callable[[Turn, str], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]  # Chinese words first, then slash aliases
    run: CommandFn
    roles: frozenset[str]  # who may use it: enterprise, handler, dispatcher, leader, admin


ALL_ROLES = frozenset({"enterprise", "handler", "dispatcher", "leader", "admin"})
COMMANDS: list[Command] = []


def command(*names: str, roles: frozenset[str] = ALL_ROLES) -> Callable[[CommandFn], CommandFn]:
    """Register a chat command; later modules (handling, dispatch, leader) add theirs the same way."""
    def register(fn: CommandFn) -> CommandFn:
        COMMANDS.append(Command(names, fn, roles))
        return fn
    return register


ENTERPRISE = frozenset({"enterprise"})


@command("我要反映", "反映问题", "/new", roles=ENTERPRISE)
async def _new(turn: Turn, arg: str) -> None:
    await filing.start_filing(turn, arg or None)


command("查询", "/status")(enterprise.query)
command("补充", "/supplement", roles=ENTERPRISE)(enterprise.supplement)
command("撤回", "/withdraw", roles=ENTERPRISE)(enterprise.withdraw)
command("绑定", "/bind")(binding.bind)

STEP_HANDLERS: dict[Step, Callable[[Turn], Awaitable[None]]] = {
    **{s: filing.handle for s in Step if s.value.startswith("filing.")},
    Step.NEW_OR_SUPPLEMENT: enterprise.new_or_supplement,
    Step.SUPPLEMENT_PICK: enterprise.pick_supplement,
    Step.WITHDRAW_CONFIRM: enterprise.confirm_withdraw,
}
STEP_WHAT = {Step.NEW_OR_SUPPLEMENT: "选择", Step.SUPPLEMENT_PICK: "选择诉求", Step.WITHDRAW_CONFIRM: "确认撤回"}

# Staff commands (issue 4) register themselves the same way; imported here, not at the top,
# so that they can see `command` and the step tables without a circular import.
from handlers import dispatcher_cmds, entry, handler_cmds, leader_cmds  # noqa: E402

for _module in (handler_cmds, dispatcher_cmds, leader_cmds, entry):
    _module.register(command, STEP_HANDLERS, STEP_WHAT)

from handlers import evaluation_cmds  # noqa: E402  (issue 6: 评价, 核实, 回访, 重复, 上级评价, 统计, 指数)

evaluation_cmds.register(command, STEP_HANDLERS, STEP_WHAT)
from handlers import notices  # noqa: E402  (issue 5: 日报)

notices.register(command, STEP_HANDLERS, STEP_WHAT)

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


def split_command(text: str) -> tuple[Command | None, str]:
    head, _, rest = text.partition(" ")
    for cmd in COMMANDS:
        for name in cmd.names:
            if head == name or head.lower() == name:
                return cmd, rest.strip()
            # Chinese commands are often typed without a space: 查询QH20261125-0001
            glued = not name.startswith("/") and head.startswith(name) and len(head) > len(name)
            if glued and re.match(r"[A-Za-z0-9]", head[len(name)]):
                return cmd, (head[len(name):] + " " + rest).strip()
    return None, text


def help_text(turn: Turn) -> str:
    staff = turn.identity.staff
    if staff is None:
        return texts.HELP_ENTERPRISE
    if staff.role in texts.HELP_ROLE:
        limits = turn.rt.policy.time_limits
        return texts.HELP_ROLE[staff.role].format(name=staff.name, unit=staff.unit_id, signoff=limits.signoff,
                                                  ext=limits.extension_max)
    return texts.HELP_STAFF.format(role=texts.ROLE.get(staff.role, staff.role), name=staff.name, unit=staff.unit_id)


async def route(turn: Turn) -> None:
    """Decide what this message means for this person in their current state, and act on it."""
    text = normalize(turn.msg.text)
    state = turn.state

    if state.step != Step.IDLE and state.updated_at is not None:
        timeout = timedelta(minutes=turn.rt.policy.dialogue_timeout_minutes)
        if turn.now - state.updated_at > timeout:
            turn.reset()
            turn.say(texts.EXPIRED.format(minutes=turn.rt.policy.dialogue_timeout_minutes))
            # Only a command goes on: an answer to the old question (a name, a number) means nothing now.
            if split_command(text)[0] is None and text not in HELP:
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
        turn.say(help_text(turn))
        if turn.step.value.startswith("filing."):
            await filing.prompt(turn)
        return
    if text in BACK:
        await _back(turn)
        return

    step = turn.step
    if step == Step.HANDLING_TEXT and split_command(text)[0] is not None:
        turn.reset()  # a whole command instead of the text asked for: nothing half-done to keep
        step = Step.IDLE
    if step != Step.IDLE:
        cmd, _ = split_command(text)
        if cmd is not None and text.split(" ")[0] in cmd.names:
            what = texts.FILING_WHAT if step.value.startswith("filing.") else STEP_WHAT.get(step, "操作")
            turn.say(texts.BUSY_IN_DIALOGUE.format(what=what))
            return
        await STEP_HANDLERS[step](turn)
        return

    if not text and turn.msg.attachments:
        await filing.start_filing(turn)
        return
    cmd, arg = split_command(text)
    role = turn.identity.role
    if cmd is not None:
        if role not in cmd.roles:
            turn.say(texts.COMMAND_NOT_FOR_ROLE.format(command=cmd.names[0], role=texts.ROLE_LABEL[role]))
            return
        await cmd.run(turn, arg)
        return
    if role == "enterprise" and looks_like_problem(turn, text):
        await enterprise.free_text(turn)
        return
    if text.rstrip(_GREETING_TAIL).lower() in GREETINGS:
        turn.say(texts.GREETING.format(help=help_text(turn)))
        return
    turn.say(texts.UNKNOWN_COMMAND.format(text=text[:30], help=help_text(turn)))


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
