"""Per-sender rate limit: a token bucket per (channel, sender), owned by the pipeline and asked by each channel."""

from __future__ import annotations

from collections import OrderedDict

from bot.services.ports import Clock


class SenderRateLimit:
    """`per_minute` messages a minute with bursts of `burst`; 0 turns it off. A refused message is
    answered before anything is stored, so flooding costs the database nothing."""

    MAX_SENDERS = 100_000  # buckets kept; the least recently seen are forgotten first

    def __init__(self, clock: Clock, per_minute: int, burst: int) -> None:
        self.clock = clock
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def retry_after(self, channel: str, sender: str) -> float:
        """0 when the message may pass (and is counted); otherwise seconds until it would."""
        if self.rate <= 0:
            return 0.0
        now = self.clock.now().timestamp()
        key = (channel, sender)
        tokens, seen = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - seen) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            result = 0.0
        else:
            self._buckets[key] = (tokens, now)
            result = (1 - tokens) / self.rate
        while len(self._buckets) > self.MAX_SENDERS:
            self._buckets.popitem(last=False)
        return result
