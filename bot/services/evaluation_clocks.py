"""Scheduler sweeps of the 好差评 loop: late 差评 verification and rectification, call-back sampling."""

from __future__ import annotations

from bot.services.evaluation import (
    sweep_callback_sampling,
    sweep_rectification_overdue,
    sweep_verification_overdue,
)
from bot.services.scheduling import SweepContext, SweepRegistry


async def verification_overdue(ctx: SweepContext) -> int:
    """The service centre is told once when a 差评 is not verified by its deadline."""
    if ctx.held(ctx.now()):
        return 0
    return len(await sweep_verification_overdue(ctx.rt, ctx.render.bad_review_overdue))


async def rectification_overdue(ctx: SweepContext) -> int:
    """The responsible unit and the centre are told once when a valid 差评 is not rectified in time."""
    if ctx.held(ctx.now()):
        return 0
    return len(await sweep_rectification_overdue(ctx.rt, ctx.render.bad_review_overdue))


async def callback_sampling(ctx: SweepContext) -> int:
    """Keep the 回访 task list current; it sends nothing itself."""
    await sweep_callback_sampling(ctx.rt)
    return 0


def register(reg: SweepRegistry) -> None:
    reg.add("bad_review_verify", verification_overdue)
    reg.add("bad_review_rectify", rectification_overdue)
    reg.add("callback_sampling", callback_sampling)
