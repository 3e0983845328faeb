"""The turn spool: messages that could not be stored wait in an fsync'd local file until the database is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.messages import Attachment, ConversationKey, InboundMessage, Vouched
from bot.services.ports import Clock, StorageUnreachable

log = logging.getLogger(__name__)

STORED, SPOOLED, LOST = "stored", "spooled", "lost"


def _line(msg: InboundMessage, at: datetime) -> bytes:
    entry = {
        "v": 1, "spooled_at": at.isoformat(), "channel": msg.key.channel, "user_id": msg.key.user_id,
        "message_id": msg.message_id, "text": msg.text, "display_name": msg.display_name,
        "received_at": msg.received_at.isoformat() if msg.received_at else None,
        "attachments": [[a.kind, a.ref, a.name] for a in msg.attachments], "reply_context": msg.reply_context,
    }
    if msg.vouched is not None:  # kept with the message: the turn records it when it is replayed
        entry["vouched"] = asdict(msg.vouched)
    return (json.dumps(entry, ensure_ascii=False) + "\n").encode()


def _message(entry: dict[str, Any]) -> InboundMessage:
    received = entry.get("received_at")
    return InboundMessage(
        ConversationKey(entry["channel"], entry["user_id"]), entry["text"], entry["message_id"],
        datetime.fromisoformat(received) if received else None, entry.get("display_name", ""),
        tuple(Attachment(*a) for a in entry.get("attachments", [])), dict(entry.get("reply_context") or {}),
        Vouched(**entry["vouched"]) if entry.get("vouched") else None)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def waiting(path: str | Path) -> tuple[int, datetime | None]:
    """(entries, when the oldest was kept) of the spool file at `path`, read as /readyz and `qihu doctor` see it."""
    entries = Spool.read_file(Path(path).absolute())
    return len(entries), datetime.fromisoformat(entries[0]["spooled_at"]) if entries else None


def _private(path: Path, flag: int) -> Any:
    """Open for writing, created readable by the service user only: the lines hold what people wrote."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | flag, 0o600), "wb")


class Spool:
    """Append-only JSON lines: `keep` returns only once the line is on disk; `replay` hands the lines,
    in order and each msgId once, back to the turn handler and drops those that are done."""

    def __init__(self, path: str | Path, clock: Clock) -> None:
        self.path = Path(path).absolute()
        self.failed_path = self.path.with_name(self.path.name + ".failed")
        self.clock = clock
        self.failing = False  # the last attempt to store a turn found the database unreachable
        self._told: set[ConversationKey] = set()  # told "received" during this outage: once is enough
        self._lock = asyncio.Lock()
        self._entries = self.read_file(self.path)
        self._handle: Callable[[InboundMessage], Awaitable[object]] | None = None
        self._kicked: asyncio.Task | None = None
        self.replayed = 0  # turns stored from the spool since start (tests, the log)

    # ---- the file ----

    @staticmethod
    def read_file(path: Path) -> list[dict[str, Any]]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        entries = []
        for n, raw in enumerate(data.splitlines(), start=1):
            try:
                entry = json.loads(raw)
                _message(entry)
            except (ValueError, KeyError, TypeError):
                # Only a line cut by a crash before its fsync can be broken: it was never acknowledged.
                log.warning("spool %s line %s is not a whole entry; skipped", path, n)
                continue
            entries.append(entry)
        return entries

    def _append(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with _private(path, os.O_APPEND) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if new:
            _fsync_dir(path)

    def keep(self, msg: InboundMessage) -> bool:
        """Append `msg`; False (and logged) when the disk refused, so the caller must not acknowledge it."""
        line = _line(msg, self.clock.now())
        try:
            self._append(self.path, line)
        except OSError:
            log.exception("spool %s: could not keep %s message %s", self.path, msg.key, msg.message_id)
            return False
        self._entries.append(json.loads(line))
        log.warning("%s message %s kept in the spool (%s waiting)", msg.key, msg.message_id, len(self._entries))
        return True

    def _drop_first(self, n: int) -> None:
        """Rewrite the file without its first `n` entries (lines kept meanwhile are after them)."""
        self._entries = self._entries[n:]
        if not self._entries:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        with _private(tmp, os.O_TRUNC) as fh:
            fh.write(b"".join((json.dumps(e, ensure_ascii=False) + "\n").encode() for e in self._entries))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path)

    # ---- what operators and /metrics see ----

    @property
    def depth(self) -> int:
        return len(self._entries)

    # ---- taking a turn, replaying ----

    async def take(self, msg: InboundMessage, run: Callable[[], Awaitable[object]],
                   notify: Callable[[InboundMessage], Awaitable[None]] | None = None) -> str:
        """Run the turn, or keep it: STORED, SPOOLED (`notify` tells the person), or LOST (not on disk)."""
        if not self._entries:
            try:
                await run()
                self.failing = False
                self._told.clear()
                return STORED
            except Exception as exc:
                self.failing = self.failing or isinstance(exc, StorageUnreachable)
                log.warning("%s message %s not stored (%r): keeping it in the spool", msg.key, msg.message_id, exc)
        # With turns already waiting, this one waits behind them: one person's messages stay in order.
        if not self.keep(msg):
            return LOST
        if not self.failing:
            self.kick()
        elif notify is not None and msg.key not in self._told:
            self._told.add(msg.key)
            try:
                await notify(msg)
            except Exception:
                log.warning("could not tell %s that message %s was kept", msg.key, msg.message_id, exc_info=True)
        return SPOOLED

    def kick(self) -> None:
        """Replay soon, in the background (the replay loop would anyway within `replay_seconds`)."""
        if self._handle is not None and (self._kicked is None or self._kicked.done()):
            self._kicked = asyncio.create_task(self.replay())

    def attach(self, handle: Callable[[InboundMessage], Awaitable[object]]) -> None:
        """`handle` stores one turn (raises when it could not): the pipeline, through the app."""
        self._handle = handle

    async def replay(self) -> int:
        """Hand the waiting turns back in order; stops at the first the database cannot take. Returns
        how many left the spool (a msgId already stored is a duplicate the turn handler ignores)."""
        assert self._handle is not None, "attach() first"
        async with self._lock:
            done, seen = 0, set()
            for entry in list(self._entries):
                key = (entry["channel"], entry["message_id"])
                if key not in seen:
                    seen.add(key)
                    try:
                        await self._handle(_message(entry))
                        self.replayed += 1
                    except Exception as exc:
                        if isinstance(exc, StorageUnreachable):
                            self.failing = True
                            log.warning("spool replay stopped, database unreachable (%r); %s waiting",
                                        exc, len(self._entries) - done)
                            break
                        log.exception("spool: %s message %s refused by the database; moved to %s",
                                      key[0], key[1], self.failed_path)
                        self._append(self.failed_path, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
                done += 1
            else:
                self.failing = False
                self._told.clear()
            if done:
                self._drop_first(done)
                log.info("spool: %s entries done, %s waiting", done, len(self._entries))
            return done

    async def settle(self) -> None:
        """Wait for a replay started by `kick` (shutdown, tests)."""
        if self._kicked is not None:
            await asyncio.gather(self._kicked, return_exceptions=True)

    async def run_forever(self, interval: float) -> None:
        """Replay a non-empty spool every `interval` seconds (started with the server)."""
        while True:
            if self._entries:
                with contextlib.suppress(Exception):  # logged inside; a disk error must not end the loop
                    await self.replay()
            await asyncio.sleep(interval)
