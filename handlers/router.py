"""Routing of one turn: choices by number, global commands, the current step, commands, free text; and build(),
the one place where every command and step is registered."""

from __future__ import annotations

import copy
import re
import unicodedata
from datetime import timedelta

from bot import texts
from bot.domain import answers
from bot.messages import Choice, OutboundMessage
from bot.services import typos
from handlers import (
    binding,
    cases_cmds,
    dispatcher_cmds,
    enterprise,
    entry,
    evaluation_cmds,
    filing,
    handler_cmds,
    improvement_cmds,
    kpi_cmds,
    leader_cmds,
    membership_cmds,
    notices,
)
from handlers.handling_common import unit_names
from handlers.registry import Command, CommandRegistry
from handlers.steps import Step
from handlers.turn import Turn


def build() -> CommandRegistry:
    """Every command and step, in the order a message is matched against them; called once at start-up."""
    reg = CommandRegistry()
    for module in (enterprise, binding, handler_cmds, dispatcher_cmds, leader_cmds, entry, evaluation_cmds,
                   kpi_cmds, notices, membership_cmds, improvement_cmds, cases_cmds):
        module.register(reg)
    return reg


CANCEL = {"取消", "/cancel", "退出"}
BACK = {"返回", "/back", "上一步"}
HELP = {"帮助", "/help", "/start", "?", "？", "菜单"}
# A greeting is how most people open a chat: answer it with a welcome and what they can do here.
GREETINGS = {"你好", "您好", "你们好", "在吗", "在不在", "有人吗", "有人在吗", "早上好", "上午好", "中午好",
             "下午好", "晚上好", "早", "嗨", "哈喽", "hi", "hello", "您好请问", "你好请问"}
_GREETING_TAIL = " !！?？。.,，~～、"
THANKS = {"谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "非常感谢", "谢了", "好的", "好", "好的谢谢", "好的，谢谢",
          "收到", "知道了", "明白了", "ok", "okay", "thanks", "thank you", "thx", "辛苦了", "👍", "🙏"}

# Short questions with nothing pending that a clerk answers at once (Router._asked); a longer message is
# a description of a problem, even when it mentions 进展 or 电话, and so is a question with more said after it
# (补贴的事有进展吗，财政说还要审核: a supplement).
_SHORT_QUESTION = 24
PROGRESS_QUESTION = re.compile(
    r"^(?=.{1,24}$)(?!.*[，,。；;].).*(?:到哪一?步|进度|办得?怎么样|怎么样了|处理得?怎么样|(?:有|出)(?:结果|消息|回复|进展)了?[吗没么]"
    r"|(?:办|处理|解决)(?:好|完)?了(?:吗|没|么)|还没(?:人)?(?:处理|回复|办)|进展如何)")
HUMAN_QUESTION = re.compile(
    r"^(?=.{1,24}$)(?!.*[，,。；;].).*(?:人工|客服|真人|(?:电话|热线|号码)(?:是)?(?:多少|几号)|怎么联系|联系方式|打(?:什么|哪个)电话)")

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

    async def help_text(self, turn: Turn) -> str:
        """The role's heading, one line for each command the role may use (from the registry), a closing line."""
        identity, limits = turn.identity, turn.rt.policy.time_limits
        staff = identity.staff
        if staff is None:
            head, tail = texts.HELP_HEAD_ENTERPRISE, texts.HELP_TAIL_ENTERPRISE
        else:
            unit = (await unit_names(turn)).get(staff.unit_id, "")  # people see the unit's name, never its id
            head = texts.HELP_HEAD_STAFF.format(role=texts.ROLE_LABEL.get(staff.role, staff.role), name=staff.name,
                                                unit=unit)
            tail = texts.HELP_TAIL_STAFF
        lines = ["· " + texts.COMMAND_HELP.get(c.names[0], c.names[0]).format(signoff=limits.signoff,
                                                                                 ext=limits.extension_max)
                 for c in self.registry.for_role(identity.role)]
        phone = turn.rt.policy.service_phone
        return "\n".join([head, *lines, tail + (texts.HELP_PHONE.format(phone=phone) if phone else "")])

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
                choices = state.choices
                turn.say(texts.CHOICE_OUT_OF_RANGE.format(n=n, max=len(choices)))
                state.choices = choices  # the options still stand: the next number picks from them
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
            turn.say(await self.help_text(turn))
            if turn.step.value.startswith("filing."):
                await filing.prompt(turn)
            return
        if text in BACK:
            await _back(turn)
            return

        step = turn.step
        if step == Step.HANDLING_TEXT and self.registry.split(text)[0] is not None:
            turn.reset()  # a whole command instead of the text asked for: nothing half-done to keep
            step = Step.IDLE
        if step != Step.IDLE:
            cmd, arg = self.registry.split(text)
            if cmd is not None:
                await self._command_mid_dialogue(turn, cmd, arg)
                return
            if _is_chatter(text) and not step.value.startswith("rating."):  # thanks can be a rating's comment
                choices = list(turn.state.choices)
                turn.say(texts.CHATTER_IN_DIALOGUE.format(what=self._what(step)))
                await self._ask_again(turn, choices)
                return
            if await self._suggest(turn, text, strict=True):
                return
            if (turn.identity.role == "enterprise" and turn.state.choices and text not in turn.state.choices
                    and not step.value.startswith("filing.")):  # the filing steps answer questions themselves
                choices = list(turn.state.choices)
                if await self._asked(turn, text):  # 到哪一步了 / 人工 / 周末上班吗 at a choice: answer, ask again
                    await self._ask_again(turn, choices)
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
        if text.rstrip(_GREETING_TAIL).lower() in GREETINGS:
            turn.say(texts.GREETING.format(help=await self.help_text(turn)))
            return
        if _is_thanks(text):
            turn.say(texts.THANKS_REPLY)
            return
        if await self._suggest(turn, text):
            return
        if turn.identity.role == "enterprise" and await self._asked(turn, text):
            return
        if turn.identity.role == "enterprise" and looks_like_problem(turn, text):
            await enterprise.free_text(turn)
            return
        turn.say(texts.UNKNOWN_COMMAND.format(text=text[:30], help=await self.help_text(turn)))

    async def _asked(self, turn: Turn, text: str) -> bool:
        """A question with nothing pending, answered as a clerk would: 我的诉求到哪一步了 shows the person's
        appeals (查询); asking for a person or a phone gets the centre's number; a common question its
        answer. False for anything else (a problem described as a question is filed as usual)."""
        if PROGRESS_QUESTION.search(text):
            await enterprise.query(turn, "")
            return True
        if HUMAN_QUESTION.search(text):
            phone = turn.rt.policy.service_phone
            turn.say(texts.HUMAN_HELP.format(phone=phone) if phone else texts.HUMAN_HELP_HOTLINE)
            return True
        if answers.is_question(text) and len(text) <= _SHORT_QUESTION and not looks_like_problem(turn, text):
            answer = filing.answer_question(turn, text)
            if answer is not None:
                turn.say(answer)
                return True
        return False

    def _what(self, step: Step) -> str:
        return self.registry.step_what.get(step, "操作")

    async def _ask_again(self, turn: Turn, choices: list[str]) -> None:
        """Repeat the pending question (the filing steps know theirs; the others offer its choices again)."""
        if turn.step.value.startswith("filing."):
            await filing.prompt(turn)
        else:
            turn.say(texts.ANSWER_ABOVE.format(what=self._what(turn.step)), [Choice(c, c) for c in choices])

    async def _command_mid_dialogue(self, turn: Turn, cmd: Command, arg: str) -> None:
        """Run a command typed mid-dialogue; keep the pending dialogue unless the command starts another."""
        state = turn.state
        pending = (state.step, copy.deepcopy(state.data), list(state.history), list(state.choices))
        what = self._what(turn.step)
        first = len(turn.outbound)
        await cmd.run(turn, arg)
        untouched = state.step == pending[0] and state.data == pending[1]
        if untouched or (turn.step == Step.IDLE and not state.data):
            # The command answered and left no dialogue of its own: the one it interrupted goes on.
            state.step, state.data, state.history, state.choices = pending
            turn.say(texts.DIALOGUE_KEPT.format(what=what))
            await self._ask_again(turn, pending[3])
        else:  # it began a dialogue of its own: say so before its first question
            choices = state.choices
            turn.say(texts.DIALOGUE_SET_ASIDE.format(what=what))
            turn.outbound.insert(first, turn.outbound.pop())
            state.choices = choices

    async def _suggest(self, turn: Turn, text: str, *, strict: bool = False) -> bool:
        """`您是不是要：查询？` for a word close to one of this person's commands, with a button that runs it."""
        word, rest = typos.split_head(text)
        if rest and not typos.NUMBER_START.match(rest) and len(rest) > 20:
            return False
        if strict and not rest and not (word.isascii() and word.isalpha()):
            # Mid-dialogue a lone word is most likely the answer; only a sound-alike with a number is a command.
            return False
        names = [n for c in self.registry.for_role(turn.identity.role) for n in c.names]
        name = typos.nearest(word, names, strict=strict)
        if name is None:
            return False
        corrected = f"{name} {rest}".strip()
        question = texts.DID_YOU_MEAN.format(command=name, text=corrected)
        if turn.step == Step.IDLE:
            turn.say(question, [Choice(corrected, corrected)])
        else:  # the pending question's numbers keep meaning its options
            turn.outbound.append(OutboundMessage(turn.key, question, [Choice(corrected, corrected)], None,
                                                 dict(turn.msg.reply_context)))
        return True


def _bare(text: str) -> str:
    return text.rstrip(_GREETING_TAIL + "🙏👍😊").lower()


def _is_thanks(text: str) -> bool:
    bare = _bare(text)
    return bare in THANKS or (not bare and bool(text))  # an emoji alone is a reaction: 👍 🙏


def _is_chatter(text: str) -> bool:
    """A greeting or a thank-you typed where an answer was expected."""
    return _bare(text) in GREETINGS or _is_thanks(text)


def looks_like_problem(turn: Turn, text: str) -> bool:
    """Long enough to be a description, a short report (停电了), or short but naming something our rules know."""
    word, rest = typos.split_head(text)
    if typos.NUMBER_START.match(rest) and len(word) <= 4:
        return False  # a word and an appeal number: a command mistyped, not a description
    if len(text) >= turn.rt.policy.text_min_chars or answers.reads_like_problem(text):
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
        await filing.prompt_after_back(turn)
    else:
        turn.reset()
        turn.say(texts.CANCELLED)
