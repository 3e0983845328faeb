"""Scheduled work: the sweep registry, its context (policy, renderer, quiet hours) and one run of it all.

A sweep is a plain async function `fn(ctx: SweepContext) -> int` (messages sent) that finds due
work in stored state and claims each occurrence atomically (`uow.sweeps.claim`, or a conditional
state transition) in the same transaction as the outbox rows it writes. So any number of
scheduler instances, restarts and missed runs send each occurrence exactly once.

Adding a sweep (issue 6: bad-review verification and rectification clocks, say)::

    from bot.services.scheduling import SweepContext, SweepRegistry

    async def verify_clock(ctx: SweepContext) -> int:
        now = ctx.now()
        if ctx.held(now):                     # quiet hours / non-working day: try again later
            return 0
        ...uow.sweeps.appeals_due("bad_review_verify", ["verifying"], "status_since", before=...)...
        ...await uow.sweeps.claim(kind, number, slot, now, ...); await ctx.send(uow, keys, text, number)

    def register(reg: SweepRegistry) -> None:
        reg.add("bad_review_verify", verify_clock)  # runs in every scheduler pass, in registration order

and list the module in bot.services.sweeps.build, the one place sweeps are registered. Texts come from
`ctx.render.text(kind, **params)`, whose zh-CN templates live in bot/texts.py (SCHEDULED).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from bot.messages import Choice, ConversationKey, OutboundMessage
from bot.services.ports import UnitOfWork
from bot.services.runtime import Runtime
from bot.services.schedule_policy import SchedulePolicy

log = logging.getLogger(__name__)

class NoticeRenderer(Protocol):
    """Turns what a sweep found into the words a person reads (implemented in handlers)."""

    def text(self, kind: str, **params: Any) -> str: ...
    def rating_choices(self, number: str) -> list[Choice]: ...
    def digest(self, kind: str, data: Any) -> str: ...
    def bad_review_overdue(self, notice: Any, unit_names: dict[str, str]) -> str: ...


@dataclass
class SweepContext:
    rt: Runtime
    render: NoticeRenderer
    on_sent: Callable[[], None] = lambda: None  # wake the outbox sender
    # (sweep, seconds, messages sent, ok) after each sweep run: bot.metrics counts them (set by bootstrap).
    on_sweep: Callable[[str, float, int, bool], None] | None = None
    registry: SweepRegistry = field(default_factory=lambda: SweepRegistry())  # what run_sweeps runs

    @property
    def schedule(self) -> SchedulePolicy:
        return self.rt.policy.schedule

    def now(self) -> datetime:
        return self.rt.now()

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.rt.tz)

    def is_quiet(self, now: datetime) -> bool:
        start, end = self.schedule.quiet_start, self.schedule.quiet_end
        t = self.local(now).time()
        if start == end:
            return False
        if start > end:  # over midnight, e.g. 20:00–08:00
            return t >= start or t < end
        return start <= t < end

    def held(self, now: datetime, *, staff: bool = True) -> bool:
        """True when reminders must wait: quiet hours, and for staff also non-working days."""
        if self.is_quiet(now):
            return True
        return staff and self.schedule.hold_on_non_workdays and not self.rt.calendar.is_workday(
            self.local(now).date())

    def today(self, now: datetime) -> str:
        return self.local(now).date().isoformat()

    def digest_moment(self, day: date) -> datetime:
        return datetime.combine(day, self.schedule.digest_time, tzinfo=self.rt.tz)

    def previous_workday(self, day: date) -> date:
        day -= timedelta(days=1)
        for _ in range(60):
            if self.rt.calendar.is_workday(day):
                return day
            day -= timedelta(days=1)
        return day

    async def send(self, uow: UnitOfWork, recipients: Sequence[ConversationKey], text: str,
                   number: str | None = None, choices: list[Choice] | None = None) -> int:
        """Store one message per distinct recipient in the caller's transaction; returns how many."""
        unique = list(dict.fromkeys(recipients))
        messages = [OutboundMessage(k, text, list(choices or []), number) for k in unique]
        await uow.outbox.add(messages, self.now())
        return len(messages)


SweepFn = Callable[[SweepContext], Awaitable[int]]


@dataclass(frozen=True)
class Sweep:
    name: str
    run: SweepFn
    every_seconds: int | None = None  # None: every scheduler pass ([scheduler] interval_seconds)


@dataclass
class SweepRegistry:
    """The sweeps in the order a pass runs them; filled once at start-up by bot.services.sweeps.build."""

    sweeps: dict[str, Sweep] = field(default_factory=dict)

    def add(self, name: str, fn: SweepFn, *, every_seconds: int | None = None) -> None:
        if name in self.sweeps:
            raise ValueError(f"sweep {name!r} registered twice")
        self.sweeps[name] = Sweep(name, fn, every_seconds)

    def common(self) -> list[Sweep]:
        """The sweeps of every scheduler pass ([scheduler] interval_seconds)."""
        return [s for s in self.sweeps.values() if s.every_seconds is None]

    def own_interval(self) -> list[Sweep]:
        return [s for s in self.sweeps.values() if s.every_seconds is not None]


@dataclass
class PassResult:
    sent: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


async def run_sweeps(ctx: SweepContext, names: Sequence[str] | None = None) -> PassResult:
    """One pass: every registered sweep (or the named ones) in order. A failing sweep is logged and
    the others still run; what it had not committed is rolled back and found again next pass."""
    result = PassResult()
    for name, item in list(ctx.registry.sweeps.items()):
        if names is not None and name not in names:
            continue
        started = time.perf_counter()
        try:
            result.sent[name] = await item.run(ctx)
        except Exception:
            log.exception("sweep %s failed; it runs again next pass", name)
            result.failed.append(name)
        if ctx.on_sweep is not None:
            ctx.on_sweep(name, time.perf_counter() - started, result.sent.get(name, 0), name not in result.failed)
    if any(result.sent.values()):
        ctx.on_sent()
    return result
