"""The callback replay rule: one (timestamp, sign) pair signs one message, on every instance alike."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services.ports import UnitOfWork


class SignatureLedger:
    """The pairs live in the database, so every instance behind a load balancer agrees; a pair is
    kept until its timestamp leaves the accepted clock skew, after which the signature check refuses
    it anyway. Expired pairs are pruned at most once a minute per instance."""

    PRUNE_EVERY = timedelta(minutes=1)

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._pruned_at: datetime | None = None

    async def claim(self, uow: UnitOfWork, timestamp: str, sign: str, message_id: str, keep_until: datetime,
                    now: datetime) -> bool:
        """In the turn's transaction: True when the pair is new (now stored) or already this message's
        (a re-delivery), False when another message used it."""
        if self._pruned_at is None or now - self._pruned_at >= self.PRUNE_EVERY:
            self._pruned_at = now
            await uow.callback_signatures.prune(now)
        row = {"channel": self.channel, "timestamp": timestamp, "sign": sign, "message_id": message_id[:191],
               "keep_until": keep_until}
        if await uow.turns.claim_signature(row):
            return True
        return await uow.callback_signatures.message_of(self.channel, timestamp, sign) == row["message_id"]
