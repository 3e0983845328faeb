"""Repeat complaints: a new appeal of the same USCC and category soon after a closure is flagged and linked."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.appeal import Action, Actor, Appeal
from bot.services.ports import UnitOfWork
from bot.services.runtime import Runtime


async def flag_repeat(uow: UnitOfWork, rt: Runtime, appeal: Appeal) -> str | None:
    """At submission: link to the latest earlier appeal of this USCC and category that was resolved or
    closed within the repeat window; the dispatcher confirms or unlinks it later (重复 编号 确认|取消)."""
    if appeal.id is None or not appeal.category:
        return None
    now = rt.now()
    since = now - timedelta(days=rt.policy.evaluation.repeat_window_days)
    earlier = await uow.evaluation.repeat_candidate(appeal.uscc, appeal.category, since, appeal.id, now)
    if earlier is None:
        return None
    appeal.repeat_of = earlier
    appeal.flags = {**appeal.flags, "repeat": "flagged"}
    appeal.apply(Action.LINK_REPEAT, actor=Actor.system(), now=rt.now(), note=earlier, repeat_of=earlier,
                 state="flagged")
    await uow.appeals.save(appeal)
    return earlier
