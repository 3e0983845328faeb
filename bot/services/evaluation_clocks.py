"""Scheduler sweeps of the 好差评 loop: late 差评 verification and rectification, call-back sampling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.messages import ConversationKey, OutboundMessage
from bot.services import directory
from bot.services.callbacks import sample_callbacks
from bot.services.runtime import Runtime
from bot.services.scheduling import SweepContext, SweepRegistry


@dataclass(frozen=True)
class OverdueNotice:
    kind: str  # verify, rectify
    number: str
    due_at: datetime
    unit_id: str | None


Render = Callable[[OverdueNotice, dict[str, str]], str]


async def late_bad_reviews(rt: Runtime, kind: str, render: Render) -> list[str]:
    """差评 past their verification (kind "verify") or rectification ("rectify") deadline: the centre's
    dispatchers, and for rectification the unit, are told once per bad review. Returns their numbers."""
    now = rt.now()
    sent: list[str] = []
    async with rt.uow() as uow:
        names = await directory.unit_names(uow)
        dispatchers = await uow.directory.keys_for_role("dispatcher")
        messages: list[OutboundMessage] = []
        for number, r in await uow.evaluation.open_bad_reviews():
            if kind == "verify":
                late = r.verdict is None and r.verify_due_at is not None and now > r.verify_due_at
                column, due, unit = "verify_reminded_at", r.verify_due_at, r.unit_id
            else:
                late = r.verdict == "valid" and r.rectify_due_at is not None and now > r.rectify_due_at
                column, due, unit = "rectify_reminded_at", r.rectify_due_at, r.rectify_unit_id
            if not late or r.id is None or due is None:
                continue
            if not await uow.evaluation.claim_rating_reminder(r.id, column, now):
                continue
            text = render(OverdueNotice(kind, number, due, unit), names)
            keys: list[ConversationKey] = list(dispatchers)
            if kind == "rectify" and unit:
                keys += await uow.handling.keys_for_unit(unit)
            messages += [OutboundMessage(k, text, [], number) for k in keys]
            sent.append(number)
        await uow.outbox.add(messages, now)
        await uow.commit()
    return sent


async def verification_overdue(ctx: SweepContext) -> int:
    """The service centre is told once when a 差评 is not verified by its deadline."""
    if ctx.held(ctx.now()):
        return 0
    return len(await late_bad_reviews(ctx.rt, "verify", ctx.render.bad_review_overdue))


async def rectification_overdue(ctx: SweepContext) -> int:
    """The responsible unit and the centre are told once when a valid 差评 is not rectified in time."""
    if ctx.held(ctx.now()):
        return 0
    return len(await late_bad_reviews(ctx.rt, "rectify", ctx.render.bad_review_overdue))


async def callback_sampling(ctx: SweepContext) -> int:
    """Keep the 回访 task list current (idempotent, safe from several instances); it sends nothing itself."""
    async with ctx.rt.uow() as uow:
        await sample_callbacks(uow, ctx.rt)
        await uow.commit()
    return 0


def register(reg: SweepRegistry) -> None:
    reg.add("bad_review_verify", verification_overdue)
    reg.add("bad_review_rectify", rectification_overdue)
    reg.add("callback_sampling", callback_sampling)
