"""How staff are reached before they ever message the bot: who of a unit can be told now, notices held
for the rest, and the DingTalk / 浙政钉 directory lookups by mobile that link them (issue 15 §13)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.messages import HELD_CHANNEL, MAILBOX_CHANNELS, ConversationKey, OutboundMessage
from bot.services import directory
from bot.services.ports import Staff, StaffLookup, UnitOfWork
from bot.services.runtime import Runtime

NOT_FOUND_RETRY = timedelta(hours=24)  # the person may be added to the org's directory later
ERROR_RETRY_FIRST = timedelta(minutes=5)
ERROR_RETRY_CAP = timedelta(hours=6)


def can_reach(rt: Runtime, key: ConversationKey) -> bool:
    """A message to this identity can be delivered now: its channel runs here, and (DingTalk) it is an
    org userid, not the `$:` id of a sender who has none (no proactive send is possible to those)."""
    if key.channel == HELD_CHANNEL or key.user_id.startswith("$:"):
        return False
    return rt.reachable is None or key.channel in rt.reachable


@dataclass
class Member:
    """One staff member of a unit and where a notice reaches them; `looking` while a directory lookup
    by their mobile is still to come (the notice is held and goes out when it finds them)."""

    staff: Staff
    keys: list[ConversationKey]
    looking: bool = False

    @property
    def reached(self) -> bool:
        return bool(self.keys)


async def _looking(uow: UnitOfWork, rt: Runtime, staff: Staff) -> bool:
    if not rt.lookup_channel or not staff.mobile:
        return False
    found = await uow.directory.lookup(staff.id, rt.lookup_channel)
    return found is None or found.status == "error"


async def unit_members(uow: UnitOfWork, rt: Runtime, unit_id: str, role: str = "handler") -> list[Member]:
    """The unit's active staff of `role`, each with the identities a notice reaches now."""
    out = []
    for staff, keys in await uow.directory.staff_with_keys(unit_id, role):
        usable = [k for k in keys if can_reach(rt, k)]
        out.append(Member(staff, usable, looking=not usable and await _looking(uow, rt, staff)))
    return out


def held_key(staff: Staff) -> ConversationKey:
    """Where a notice waits for a staff member nobody can reach yet (bot.messages.HELD_CHANNEL)."""
    return ConversationKey(HELD_CHANNEL, staff.id)


async def release_held(uow: UnitOfWork, staff_id: str, key: ConversationKey, now: datetime) -> int:
    """The notices held for this staff member go to the identity just linked to them; how many."""
    return await uow.outbox.release_held(staff_id, key, now, delivered=key.channel in MAILBOX_CHANNELS)


async def link_configured(uow: UnitOfWork, links: Sequence[tuple[str, ConversationKey]], now: datetime) -> int:
    """Link the org userids written in the staff list (`dingtalk_userid`) as binding would; the
    notices held for them are released. Returns how many identities were new."""
    new = 0
    for staff_id, key in links:
        identity = await uow.directory.identity(key)
        if identity.staff is not None and identity.staff.id == staff_id:
            continue
        await uow.directory.link_staff(key, staff_id)
        await release_held(uow, staff_id, key, now)
        new += 1
    return new


async def due_lookups(uow: UnitOfWork, channel: str, now: datetime) -> list[Staff]:
    """Staff with a mobile and no identity on `channel` whose lookup is new or due again."""
    due = []
    for staff in await uow.directory.unlinked_staff(channel):
        done = await uow.directory.lookup(staff.id, channel)
        if done is None or (done.next_at is not None and done.next_at <= now):
            due.append(staff)
    return due


async def found(uow: UnitOfWork, staff: Staff, key: ConversationKey, now: datetime) -> int:
    """The directory knows them: link the identity (as 绑定 does), release what was held; how many."""
    previous = await uow.directory.lookup(staff.id, key.channel)
    await uow.directory.save_lookup(StaffLookup(staff.id, key.channel, "found", now, key.user_id,
                                                (previous.attempts if previous else 0) + 1))
    await uow.directory.link_staff(key, staff.id)
    return await release_held(uow, staff.id, key, now)


async def not_found(uow: UnitOfWork, staff: Staff, channel: str, now: datetime, detail: str) -> bool:
    """The directory has no one with their mobile; True the first time (then the dispatchers are told)."""
    previous = await uow.directory.lookup(staff.id, channel)
    await uow.directory.save_lookup(StaffLookup(staff.id, channel, "not_found", now, "",
                                                (previous.attempts if previous else 0) + 1,
                                                now + NOT_FOUND_RETRY, detail))
    return previous is None or previous.status != "not_found"


async def failed(uow: UnitOfWork, staff: Staff, channel: str, now: datetime, detail: str) -> datetime:
    """The lookup could not be made (network, throttling, a missing permission): try again later,
    waiting twice as long each time up to ERROR_RETRY_CAP; returns when."""
    previous = await uow.directory.lookup(staff.id, channel)
    attempts = (previous.attempts if previous and previous.status == "error" else 0) + 1
    wait = min(ERROR_RETRY_CAP, ERROR_RETRY_FIRST * 2 ** (attempts - 1))
    await uow.directory.save_lookup(StaffLookup(staff.id, channel, "error", now, "", attempts, now + wait, detail))
    return now + wait


async def tell_dispatchers(uow: UnitOfWork, text: str, now: datetime) -> None:
    """A notice to every centre dispatcher, outside any turn (a lookup found nobody)."""
    keys = await directory.dispatcher_keys(uow)
    if keys:
        await uow.outbox.add([OutboundMessage(k, text) for k in keys], now)
