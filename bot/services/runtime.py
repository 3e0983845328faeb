"""Runtime: what every use case needs besides the unit of work (clock, policy, calendar, tagger)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkCalendar
from bot.services.links import ReportLinks
from bot.services.policy import Policy
from bot.services.ports import Clock, FixedClock, UnitOfWork
from nlp.rules import RuleTagger


@dataclass
class Runtime:
    clock: Clock
    policy: Policy
    calendar: WorkCalendar
    tagger: RuleTagger
    uow: Callable[[], UnitOfWork]
    links: ReportLinks | None = None  # report downloads; None where nothing serves them (tools)
    # The channels a message can reach people on here (the senders and the web chat's mailbox); None:
    # any (tools and tests that build no channels). bot.services.reach decides who is unreachable by it.
    reachable: frozenset[str] | None = None
    lookup_channel: str = ""  # the DingTalk / 浙政钉 channel that looks staff up by mobile; "" for none

    @property
    def tz(self) -> ZoneInfo:
        return self.calendar.tz

    def now(self) -> datetime:
        return self.clock.now()

    def at(self, moment: datetime) -> Runtime:
        """This runtime with the time standing at `moment` (never later than now): every use case of a turn
        replayed from the spool reads the time the message arrived, not the time of the replay."""
        return replace(self, clock=FixedClock(min(moment, self.clock.now())))
