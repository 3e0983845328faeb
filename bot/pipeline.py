"""handle_inbound: dedupe, lock the conversation, load its state, route, store replies, commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from bot import texts
from bot.domain.errors import DomainError, Forbidden
from bot.domain.identifiers import mask_phones_in_text
from bot.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.services import binding, delivery
from bot.services.ports import OutboxRow, StorageInterrupted, StorageUnreachable, UnitOfWork
from bot.services.ratelimit import SenderRateLimit
from bot.services.runtime import Runtime
from handlers.render import refusal
from handlers.router import Router
from handlers.turn import Turn

log = logging.getLogger(__name__)


class TurnRejected(Exception):
    """A channel's check, run inside the turn's own transaction, refused the message (a replayed
    DingTalk signature): nothing is stored, nobody is answered; the channel answers `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# Runs first in every transaction that would store this message; raises TurnRejected to refuse it.
# In the turn's transaction, not one of its own: a second commit per message halved the throughput.
Guard = Callable[[UnitOfWork], Awaitable[None]]


@dataclass
class TurnOutcome:
    """What a turn left to send: outbox ids paired with the messages stored under them."""

    outbox_ids: list[int]
    messages: list[OutboundMessage]

    def replies_to(self, key: ConversationKey) -> list[tuple[int, OutboundMessage]]:
        return [(i, m) for i, m in zip(self.outbox_ids, self.messages, strict=True) if m.recipient == key]


class Pipeline:
    """Turns inbound messages into stored effects and outbox rows, one transaction per turn: the one
    way in for every channel (its rate limit, its turns, and the mailbox a page reads its replies from)."""

    def __init__(self, rt: Runtime, router: Router, *, unreachable: Callable[[BaseException], bool],
                 rate_limit: SenderRateLimit | None = None,
                 on_commit: Callable[[Sequence[OutboundMessage]], None] | None = None,
                 log_text: bool = False) -> None:
        self.rt = rt
        self.router = router
        self.unreachable = unreachable  # storage's judgement: the database is away, not refusing
        self.rate_limit = rate_limit
        self.log_text = log_text  # [logging] log_message_text: what people wrote goes to the log only if asked
        self.on_commit = on_commit or (lambda messages: None)  # messages committed to the outbox
        self._locks: weakref.WeakValueDictionary[ConversationKey, asyncio.Lock] = weakref.WeakValueDictionary()
        # (channel, outcome, seconds) after every turn: bot.metrics counts them (set by bootstrap).
        self.observe: Callable[[str, str, float], None] | None = None

    def _lock(self, key: ConversationKey) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def retry_after(self, channel: str, sender: str) -> float:
        """0 when this sender's message may go in now (and is counted), else seconds until it may: a
        channel asks before anything is stored, so flooding costs the database nothing."""
        return self.rate_limit.retry_after(channel, sender) if self.rate_limit is not None else 0.0

    async def mailbox(self, key: ConversationKey, after_id: int, limit: int = 100) -> list[OutboxRow]:
        """What was stored for one person after a cursor: a mailbox channel's page fetches it."""
        with self._outage():
            async with self.rt.uow() as uow:
                return await delivery.mailbox(uow, key, after_id, limit)

    @contextlib.contextmanager
    def _outage(self) -> Iterator[None]:
        """An error that says the database is away leaves as StorageUnreachable (the spool keeps the
        message); any other leaves as it is."""
        try:
            yield
        except (TurnRejected, StorageUnreachable):
            raise
        except Exception as exc:
            if self.unreachable(exc):
                raise StorageUnreachable(repr(exc)) from exc
            raise

    @staticmethod
    def _storable(msg: InboundMessage) -> None:
        """Every channel's message passes here, so NUL or a lone surrogate, which a polling channel or the
        console may carry past any HTTP check, is refused before it reaches a database or the spool."""
        if msg.unstorable():
            raise TurnRejected(400, texts.UNSTORABLE_MESSAGE)

    async def handle(self, msg: InboundMessage, guard: Guard | None = None, *,
                     arrived: bool = False) -> list[int] | None:
        """Process one message; returns the outbox ids written, or None for a duplicate. `arrived`: the turn
        happens at `msg.received_at` (a turn replayed from the spool: submission time, deadlines, timeline)."""
        outcome = await self.handle_turn(msg, guard, arrived=arrived)
        return outcome.outbox_ids if outcome else None

    async def handle_turn(self, msg: InboundMessage, guard: Guard | None = None, *,
                          arrived: bool = False) -> TurnOutcome | None:
        """Process one message; returns what it stored to send, or None for a duplicate.

        The in-process lock keeps two messages of one person from queueing on the database lock;
        the database lock (conversation row / SQLite write lock) keeps other processes out.
        """
        self._storable(msg)
        rt = self.rt.at(msg.received_at) if arrived and msg.received_at is not None else self.rt
        with self._outage():
            return await self._handle_turn(msg, guard, rt)

    async def _handle_turn(self, msg: InboundMessage, guard: Guard | None, rt: Runtime) -> TurnOutcome | None:
        started = time.perf_counter()
        self.rt.tagger.refresh()  # a rule file replaced by `qihu tags apply` is taken up here
        lock = self._lock(msg.key)
        async with lock:
            result = "ok"
            try:
                try:
                    outcome = await self._turn(msg, guard, rt)
                except StorageInterrupted:
                    log.warning("database connection lost during %s message %s: running the turn again",
                                msg.key, msg.message_id)
                    outcome = await self._turn(msg, guard, rt)
            except TurnRejected:
                raise
            except DomainError as err:
                result = "refused"
                outcome = await self._refuse(msg, refusal(err) + self._call_us(err), guard=guard, rt=rt)
            except Exception as exc:
                if self.unreachable(exc):
                    # Not even a refusal can be stored: the channel keeps the message (bot.spool).
                    log.warning("database unreachable for %s message %s: %r", msg.key, msg.message_id, exc)
                    raise
                result = "failed"
                log.exception("turn failed for %s message %s", msg.key, msg.message_id)
                outcome = await self._refuse(msg, texts.GENERIC_FAILURE + self._call_us(None), claim=False,
                                             guard=guard, rt=rt)
        if self.observe is not None:
            self.observe(msg.key.channel, result if outcome is not None else "duplicate",
                         time.perf_counter() - started)
        if outcome:
            self.on_commit(outcome.messages)
        return outcome

    def _call_us(self, err: DomainError | None) -> str:
        """Where a person who cannot get past a refusal alone can call: after a permission refusal or a
        failure, when [appeals] service_phone is set. A typo's refusal says how to type it instead."""
        phone = self.rt.policy.service_phone
        if not phone or (err is not None and not isinstance(err, Forbidden)):
            return ""
        return texts.CALL_US.format(phone=phone)

    async def _turn(self, msg: InboundMessage, guard: Guard | None, rt: Runtime) -> TurnOutcome | None:
        now = rt.now()
        async with rt.uow() as uow:
            if guard is not None:
                await guard(uow)
            if msg.vouched is not None:  # before the turn reads who is speaking
                await binding.vouch(uow, rt, msg.key, msg.vouched)
            opened = await uow.turns.open(msg.key, msg.message_id, now)
            if opened is None:
                log.info("duplicate message %s from %s ignored", msg.message_id, msg.key)
                return None
            state = opened.state
            turn = Turn(msg, opened.identity, state, uow, rt, now)
            await self.router.route(turn)
            state.updated_at = now
            ids = await uow.turns.close(msg.key, state, turn.outbound, now)
            await uow.commit()
        # Turns about an appeal are logged at INFO (the audit trail); chatter only at DEBUG, since a
        # line for every turn cost 7 % of a loaded server.
        numbers = sorted({m.appeal_number for m in turn.outbound if m.appeal_number})
        level = logging.INFO if numbers else logging.DEBUG
        if log.isEnabledFor(level):
            if self.log_text:
                log.log(level, "turn %s step=%s appeals=%s text=%r", msg.key, state.step, numbers,
                        mask_phones_in_text(msg.text)[:60])  # mask, then cut: a cut number escapes the mask
            else:
                log.log(level, "turn %s step=%s appeals=%s", msg.key, state.step, numbers)
        return TurnOutcome(ids, turn.outbound)

    async def unsupported(self, msg: InboundMessage, kind: str, guard: Guard | None = None) -> None:
        """A polite answer to a message type no channel can read, deduplicated like any turn."""
        self._storable(msg)
        with self._outage():
            outcome = await self._refuse(msg, texts.UNSUPPORTED_MESSAGE.format(kind=kind), guard=guard)
        if outcome is not None:
            self.on_commit(outcome.messages)

    async def _refuse(self, msg: InboundMessage, text: str, *, claim: bool = True,
                      guard: Guard | None = None, rt: Runtime | None = None) -> TurnOutcome | None:
        """A refused turn changes nothing but the reply; the message id is still claimed so a
        re-delivery does not produce a second refusal (unless the failure was ours: then retry)."""
        rt = rt or self.rt
        now = rt.now()
        async with rt.uow() as uow:
            if guard is not None:
                await guard(uow)
            if claim and not await uow.inbound.claim(msg.key.channel, msg.message_id, now):
                return None
            if claim and msg.vouched is not None:  # the sign-in holds even when the turn was refused
                await binding.vouch(uow, rt, msg.key, msg.vouched)
            reply = OutboundMessage(msg.key, text, [], None, dict(msg.reply_context))
            ids = await uow.outbox.add([reply], now)
            await uow.commit()
        return TurnOutcome(ids, [reply])
