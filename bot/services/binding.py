"""Staff identity binding: one-time codes issued by an admin, redeemed in chat by the staff member."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import InvalidInput, NotFound
from bot.messages import ConversationKey, Vouched
from bot.services import membership
from bot.services.ports import Staff, UnitOfWork
from bot.services.reach import release_held
from bot.services.runtime import Runtime

# No 0/O, 1/I/L: codes are read off a screen and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_CODE_HOURS = 720  # 30 days: a code nobody used by then is better issued again
# Only a slow hash of a code is stored: someone who reads the database (a backup, a report account)
# would need ~31^8 × this many HMAC rounds to find a live code, far longer than a code lives.
HASH_ROUNDS = 20_000
HASH_SALT = b"qihu-bind-code-v1"  # fixed: a redeemed code is found by its hash


def code_hash(code: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), HASH_SALT, HASH_ROUNDS).hex()


def normalize_code(raw: str) -> str:
    return "".join(raw.split()).upper().replace("-", "")


async def issue_bind_code(uow: UnitOfWork, staff_id: str, now: datetime, ttl: timedelta) -> str:
    """A fresh single-use code for an active staff member, revoking any live one they had (one live
    code each); raises NotFound for an unknown member, InvalidInput for a ttl outside 1–720 hours.
    Only the code's hash is stored. The caller commits."""
    if not timedelta(hours=1) <= ttl <= timedelta(hours=MAX_CODE_HOURS):
        raise InvalidInput("bind_code_hours")
    if await uow.directory.staff(staff_id) is None:
        raise NotFound("staff_not_found", staff_id=staff_id)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    await uow.bind_codes.revoke_live(staff_id, now)
    await uow.bind_codes.add(code_hash(code), staff_id, now + ttl)
    return code


@dataclass(frozen=True)
class Bound:
    staff: Staff
    held: int  # notices kept for them while nobody could reach them, now on their way (reach.release_held)


async def redeem_bind_code(uow: UnitOfWork, key: ConversationKey, raw_code: str, now: datetime) -> Bound:
    """Link this chat identity to the code's staff member and send it what was held for them. The code
    is used up atomically, so it binds exactly one identity; an unknown, used or expired code raises
    InvalidInput and changes nothing."""
    code = normalize_code(raw_code)
    if not code:
        raise InvalidInput("bind_code_missing")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise InvalidInput("bind_code_invalid")
    staff_id = await uow.bind_codes.redeem(code_hash(code), now)
    if staff_id is None:
        raise InvalidInput("bind_code_invalid")
    staff = await uow.directory.staff(staff_id)
    if staff is None:
        raise NotFound("bind_staff_inactive")
    await uow.directory.link_staff(key, staff_id)
    return Bound(staff, await release_held(uow, staff_id, key, now))


async def link_staff_identity(uow: UnitOfWork, key: ConversationKey, staff_id: str) -> bool:
    """Link an identity to a staff member directly (the console chat's --staff); False for an unknown one."""
    if await uow.directory.staff(staff_id) is None:
        return False
    await uow.directory.link_staff(key, staff_id)
    return True


async def vouch(uow: UnitOfWork, rt: Runtime, key: ConversationKey, vouched: Vouched) -> None:
    """Record who a channel's sign-in says the sender is, in the caller's transaction: a demo staff
    member's page identity is linked to them (once); a portal-authenticated company makes the sender
    its verified member (membership.portal_verify)."""
    if vouched.staff_id:
        identity = await uow.directory.identity(key)
        if identity.staff is None:
            await uow.directory.link_staff(key, vouched.staff_id)
            await release_held(uow, vouched.staff_id, key, rt.now())
    elif vouched.uscc:
        await membership.portal_verify(uow, rt, key, vouched.uscc, vouched.company)
