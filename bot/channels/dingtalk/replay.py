"""ReplayGuard: a callback's (timestamp, sign) pair is good for one msgId only, checked in the turn's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import DingTalkConfig
from bot.pipeline import Guard, TurnRejected
from bot.services.ports import UnitOfWork
from bot.services.replays import SignatureLedger


class ReplayGuard:
    """Refuses a (timestamp, sign) pair already used with another msgId: the sign covers only the
    timestamp, so a captured header pair would otherwise carry any body for the whole skew window.
    The check runs inside the turn's own transaction (bot.pipeline.Guard); the rule and the stored
    pairs are bot.services.replays'."""

    def __init__(self, channel: str, cfg: DingTalkConfig) -> None:
        self.ledger = SignatureLedger(channel)
        self.window = timedelta(seconds=cfg.max_clock_skew_seconds)
        self.checked = cfg.signature != "off"

    def guard(self, headers: Any, message_id: str, now: datetime) -> Guard | None:
        """The check for this request, or None when it carries no signature to remember."""
        timestamp, sign = headers.get("timestamp"), headers.get("sign")
        if not self.checked or not timestamp or not sign:
            return None  # signature = off / if_present without headers: nothing to remember (warned at start)
        keep_until = datetime.fromtimestamp(int(timestamp) / 1000, UTC) + self.window

        async def check(uow: UnitOfWork) -> None:
            if not await self.ledger.claim(uow, timestamp, sign, message_id, keep_until, now):
                raise TurnRejected(403, "该签名（timestamp + sign）已随另一条消息使用过，拒绝重放。")

        return check
