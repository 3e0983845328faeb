"""CommandRegistry: the chat commands and dialogue steps, filled once at start-up by handlers.router.build."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers.steps import Step
from handlers.turn import Turn

CommandFn = Callable[[Turn, str], Awaitable[None]]
StepFn = Callable[[Turn], Awaitable[None]]

ALL_ROLES = frozenset({"enterprise", "handler", "dispatcher", "leader", "admin"})
ENTERPRISE = frozenset({"enterprise"})
HANDLER = frozenset({"handler"})
DISPATCHER = frozenset({"dispatcher"})
LEADER = frozenset({"leader"})
STAFF = frozenset({"handler", "dispatcher", "leader", "admin"})
OVERSIGHT = frozenset({"dispatcher", "leader"})  # the service centre's dispatchers and the leaders


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]  # Chinese words first, then slash aliases
    run: CommandFn
    # Whose help lists it. Routing does not check it: the service refuses anyone else, saying why.
    roles: frozenset[str]


@dataclass
class CommandRegistry:
    """Every command, each step's handler and what a step is called ("您正在{what}")."""

    commands: list[Command] = field(default_factory=list)
    steps: dict[Step, StepFn] = field(default_factory=dict)
    step_what: dict[Step, str] = field(default_factory=dict)

    def command(self, *names: str, roles: frozenset[str] = ALL_ROLES) -> Callable[[CommandFn], CommandFn]:
        """Register a command under its names: `reg.command("待办", "/todo", roles=HANDLER)(todo)`."""
        taken = {n for c in self.commands for n in c.names} & set(names)
        if taken:
            raise ValueError(f"command names registered twice: {sorted(taken)}")

        def add(fn: CommandFn) -> CommandFn:
            self.commands.append(Command(names, fn, roles))
            return fn
        return add

    def step(self, step: Step, fn: StepFn, what: str | None = None) -> None:
        self.steps[step] = fn
        if what is not None:
            self.step_what[step] = what

    def for_role(self, role: str) -> list[Command]:
        return [c for c in self.commands if role in c.roles]

    def split(self, text: str) -> tuple[Command | None, str]:
        """The command a message starts with and the rest of it; (None, text) when it names none."""
        head, _, rest = text.partition(" ")
        for cmd in self.commands:
            for name in cmd.names:
                if head == name or head.lower() == name:
                    return cmd, rest.strip()
                # Chinese commands are often typed without a space: 查询QH20261125-0001
                glued = not name.startswith("/") and head.startswith(name) and len(head) > len(name)
                if glued and re.match(r"[A-Za-z0-9]", head[len(name)]):
                    return cmd, (head[len(name):] + " " + rest).strip()
        return None, text
