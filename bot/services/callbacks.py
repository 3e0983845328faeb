"""回访 use cases: reproducible sampling, the centre's task list, recording a call-back (with a rating), progress."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from bot.domain.appeal import Action, Appeal
from bot.domain.errors import InvalidInput
from bot.domain.rating import LEVELS, SOLVED
from bot.services.access import centre_dispatcher_and_appeal, require_centre_dispatcher
from bot.services.appeals import actor_of
from bot.services.evaluation import Rated, open_round, parse_level, store_rating
from bot.services.ports import Callback, Identity, Rating, UnitOfWork
from bot.services.runtime import Runtime

SEED_KEY = "callback_seed"


async def callback_seed(uow: UnitOfWork, rt: Runtime) -> str:
    """The sampling seed: the configured one, else one generated once and stored."""
    configured = rt.policy.evaluation.callback_seed
    return await uow.evaluation.put_state_once(SEED_KEY, configured or secrets.token_hex(8))


def sampled(seed: str, number: str, rate: float) -> bool:
    """Reproducible 回访 sampling: the same seed and number always decide the same way."""
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


async def sample_callbacks(uow: UnitOfWork, rt: Runtime) -> int:
    """Create 回访 tasks for sampled closures, every 差评 and every withdrawal; idempotent."""
    e = rt.policy.evaluation
    seed = await callback_seed(uow, rt)
    created = 0
    for appeal_id, number, kind, _ in await uow.evaluation.callback_candidates(None):
        reason = None
        if kind == "closed" and sampled(seed, number, e.callback_rate):
            reason = "sample"
        elif kind == "bad_review" and e.callback_bad_reviews:
            reason = "bad_review"
        elif kind == "withdrawn" and e.callback_withdrawals:
            reason = "withdrawn"
        if reason:
            created += await uow.evaluation.add_callback(Callback(appeal_id, reason, seed, rt.now()))
    return created


async def callback_tasks(uow: UnitOfWork, rt: Runtime, identity: Identity, limit: int = 30
                         ) -> list[tuple[Appeal, Callback]]:
    """回访 task list for the service centre (sampling brought up to date first), with each appeal."""
    await require_centre_dispatcher(uow, identity)
    await sample_callbacks(uow, rt)
    tasks = await uow.evaluation.open_callbacks(limit)
    appeals = await uow.appeals.get_many([n for n, _ in tasks])  # one statement, not one per task
    return [(appeals[n], c) for n, c in tasks if n in appeals]


SATISFIED_WORDS = ("满意", "认可", "好评", "已解决")
UNSATISFIED_WORDS = ("不满意", "未解决", "不认可", "差评", "没解决", "没有解决")


def callback_satisfied(result: str) -> bool:
    """The call-back's verdict from its wording: any dissatisfaction word wins over 满意."""
    if any(w in result for w in UNSATISFIED_WORDS):
        return False
    return any(w in result for w in SATISFIED_WORDS)


CALLBACK_SOURCES = {"电话": "电话回访", "现场": "现场回访"}


@dataclass
class CallbackRecorded:
    appeal: Appeal
    task: Callback
    rating: Rating | None = None  # set when the call-back carried the enterprise's rating


def parse_callback_rating(text: str) -> tuple[int, str | None, str] | None:
    """`满意度 [是否解决] [意见]` → (level, solved or None, comment); None when the text starts with no level."""
    head, _, rest = text.strip().partition(" ")
    level = parse_level(head)
    if level is None:
        return None
    rest = rest.strip()
    word, _, after = rest.partition(" ")
    if word in SOLVED:
        return level, word, after.strip()
    return level, None, rest


async def record_callback(uow: UnitOfWork, rt: Runtime, identity: Identity, number: str, result: str
                          ) -> CallbackRecorded:
    """回访 编号 电话|现场 结果, or 回访 编号 电话|现场 满意度 [是否解决] [意见]: records the call-back on the
    open task (or an ad-hoc one); with a 满意度 it is also the enterprise's rating, with source 电话回访 / 现场回访."""
    staff, appeal = await centre_dispatcher_and_appeal(uow, identity, number)
    text = result.strip()
    method = "电话"
    for m in ("电话", "现场"):
        if text.startswith(m):
            method, text = m, text[len(m):].lstrip(" ：:，,")
    if len(text) < 2 and parse_level(text) is None:
        raise InvalidInput("callback_result")
    await sample_callbacks(uow, rt)
    tasks = [c for c in await uow.evaluation.callbacks(appeal.id) if c.done_at is None]
    now = rt.now()
    actor = actor_of(identity, staff.name)
    rated: Rated | None = None
    parsed = parse_callback_rating(text)
    if parsed is not None:
        level, solved, comment = parsed
        # Without 是否解决 the dispatcher's 满意度 decides it, as the enterprise's answer usually implies.
        solved = solved or ("已解决" if level >= 3 else "未解决")
        rnd = await open_round(uow, appeal)
        rated = await store_rating(uow, rt, appeal, rnd, level, (), comment, solved, actor=actor,
                                    note=comment, source=CALLBACK_SOURCES[method])
        text = "　".join(p for p in (LEVELS[level], solved, comment) if p)
    if tasks:
        task = tasks[0]
    else:
        task = Callback(appeal.id, "manual", await callback_seed(uow, rt), now)
        if not await uow.evaluation.add_callback(task):
            raise InvalidInput("callback_done", number=appeal.number)
        task = next(c for c in await uow.evaluation.callbacks(appeal.id) if c.reason == "manual")
    satisfied = rated.rating.level >= 3 if rated else callback_satisfied(text)
    task.result, task.method, task.satisfied = text, method, satisfied
    task.done_by, task.done_at = staff.id, now
    await uow.evaluation.save_callback(task)
    appeal.apply(Action.CALLBACK, actor=actor, now=now, note=text, method=method,
                 satisfied=task.satisfied, reason=task.reason)
    await uow.appeals.save(appeal)
    return CallbackRecorded(appeal, task, rated.rating if rated else None)


@dataclass
class CallbackProgress:
    """How far each call-back method has got this month against its configured share (standard 8.1)."""

    total: int  # call-back tasks created this month
    done: dict[str, int]  # 电话 / 现场 → done
    target: dict[str, int]  # 电话 / 现场 → the share of total


async def callback_progress(uow: UnitOfWork, rt: Runtime) -> CallbackProgress:
    """This month's (local time) call-back tasks, done by each method, against the configured shares."""
    local = rt.now().astimezone(rt.tz)
    since = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    onsite = rt.policy.evaluation.callback_onsite_share
    total, done = await uow.evaluation.callback_progress(since)
    target_onsite = round(total * onsite)
    return CallbackProgress(total, {m: done.get(m, 0) for m in ("电话", "现场")},
                            {"电话": total - target_onsite, "现场": target_onsite})
