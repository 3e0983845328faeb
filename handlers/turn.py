"""Turn: the one explicit argument every dialogue function receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.messages import Choice, ConversationKey, InboundMessage, OutboundMessage
from bot.services.ports import ConversationState, Identity, UnitOfWork
from bot.services.runtime import Runtime
from handlers.steps import Step


@dataclass
class Turn:
    """One inbound message being handled: who, what they said, their state, and what to send."""

    msg: InboundMessage
    identity: Identity
    state: ConversationState
    uow: UnitOfWork
    rt: Runtime
    now: datetime
    text: str = ""
    outbound: list[OutboundMessage] = field(default_factory=list)

    @property
    def key(self) -> ConversationKey:
        return self.msg.key

    @property
    def step(self) -> Step:
        try:
            return Step(self.state.step)
        except ValueError:  # a step from an older release: start over rather than crash
            return Step.IDLE

    @property
    def draft(self) -> dict:
        return self.state.data

    def say(self, text: str, choices: list[Choice] | None = None, appeal_number: str | None = None,
            link: dict[str, str] | None = None) -> None:
        """Reply to the sender; the latest choices offered are what a bare number selects."""
        misread = [c.value for c in choices or [] if c.value.strip().isdigit()]
        if misread:  # the router would read the tapped value as an option number (issue 15, item 0)
            raise ValueError(f"choice values must not be bare numbers: {misread}")
        self.outbound.append(OutboundMessage(self.key, text, list(choices or []), appeal_number,
                                             dict(self.msg.reply_context), link))
        self.state.choices = [c.value for c in choices or []]

    def notify(self, recipient: ConversationKey, text: str, appeal_number: str | None = None,
               choices: list[Choice] | None = None) -> None:
        self.outbound.append(OutboundMessage(recipient, text, list(choices or []), appeal_number))

    def goto(self, step: Step) -> None:
        if self.state.step != step.value:
            self.state.history.append(self.state.step)
        self.state.step = step.value

    def reset(self) -> None:
        self.state.step = Step.IDLE.value
        self.state.data = {}
        self.state.history = []
        self.state.choices = []
