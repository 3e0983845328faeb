"""The scheduler's jobs: plain async functions that run the registered sweeps (bot.services.scheduling)."""

from __future__ import annotations

import logging

from bot.services.scheduling import PassResult, Sweep, SweepContext, run_sweeps

log = logging.getLogger(__name__)


async def run_pass(ctx: SweepContext) -> PassResult:
    """Every sweep that runs on the common interval, in registration order."""
    names = [s.name for s in ctx.registry.common()]
    result = await run_sweeps(ctx, names)
    if any(result.sent.values()):
        log.info("scheduler pass sent %s", {k: v for k, v in result.sent.items() if v})
    return result


async def run_one(ctx: SweepContext, item: Sweep) -> PassResult:
    """A sweep registered with its own interval."""
    return await run_sweeps(ctx, [item.name])
