"""build: the one place where every scheduled sweep is registered, in the order a pass runs them."""

from __future__ import annotations

from bot.services import auto_reports, digests, evaluation_clocks, improvement, reminders
from bot.services.scheduling import SweepRegistry


def build() -> SweepRegistry:
    reg = SweepRegistry()
    for module in (reminders, digests, evaluation_clocks, improvement, auto_reports):
        module.register(reg)
    return reg
