"""Who may speak for an enterprise: claims, their verification (portal, member, dispatcher), ownership."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.appeal import Actor, Appeal
from bot.domain.errors import Forbidden, InvalidInput, NotFound
from bot.domain.identifiers import normalize_uscc
from bot.messages import ConversationKey
from bot.services.access import require_centre_dispatcher
from bot.services.ports import Enterprise, Identity, Membership, UnitOfWork
from bot.services.runtime import Runtime

UNVERIFIED_FLAG = "filer_unverified"  # appeal flag: the filer's claim to the enterprise was not verified
UNVERIFIED, VERIFIED, REJECTED = "unverified", "verified", "rejected"
DECISIONS = {"通过": True, "同意": True, "拒绝": False, "驳回": False}


def filer_unverified(appeal: Appeal) -> bool:
    """What staff see as 未核验身份: the person who filed this appeal is not a verified member."""
    return bool(appeal.flags.get(UNVERIFIED_FLAG))


def is_filer(identity: Identity, appeal: Appeal) -> bool:
    return (appeal.filer_channel, appeal.filer_external_id) == (identity.key.channel, identity.key.user_id)


async def verified_enterprises(uow: UnitOfWork, identity: Identity) -> list[int]:
    if identity.staff is not None:
        return []
    return [m.enterprise_id for m in await uow.enterprises.memberships(identity.key) if m.verified]


async def may_act_for(uow: UnitOfWork, identity: Identity, appeal: Appeal) -> bool:
    """An enterprise person reaches an appeal they filed, or any appeal of an enterprise they are verified for."""
    if is_filer(identity, appeal):
        return True
    member = await uow.enterprises.membership(appeal.enterprise_id, identity.key)
    return member is not None and member.verified


async def acting_person(uow: UnitOfWork, identity: Identity, appeal: Appeal) -> Actor:
    """The timeline's actor for an enterprise person: their own name, never the filer's; a member who
    has given no name yet (verified by the portal) is named by their chat identity."""
    member = await uow.enterprises.membership(appeal.enterprise_id, identity.key)
    if member and member.contact:
        name = member.contact
    else:
        name = appeal.contact if is_filer(identity, appeal) else str(identity.key)[:100]
    return Actor("enterprise", str(appeal.enterprise_id), name)


async def claim_for_filing(uow: UnitOfWork, rt: Runtime, identity: Identity, uscc: str, company: str,
                           contact: str, phone: str, area_id: str) -> tuple[Enterprise, Membership]:
    """The filer's claim to the enterprise: created unverified on a first filing, its contact details
    kept current. The profile is created if the county has never seen the code (without the
    claimant's contact details) and changed only by a verified member."""
    now = rt.now()
    enterprise = await uow.enterprises.get_by_uscc(uscc)
    if enterprise is None:
        enterprise = await uow.enterprises.create_if_missing(Enterprise(None, uscc, company, "", "", area_id))
    assert enterprise.id is not None
    member = await uow.enterprises.membership(enterprise.id, identity.key)
    if member is None:
        member = await uow.enterprises.add_membership(
            Membership(enterprise.id, identity.key, UNVERIFIED, now, contact, phone))
    elif (member.contact, member.phone) != (contact, phone):
        member.contact, member.phone = contact, phone
        await uow.enterprises.save_membership(member)
    if member.verified:
        enterprise = await uow.enterprises.upsert(Enterprise(None, uscc, company, contact, phone, area_id))
    await uow.directory.link_enterprise(identity.key, enterprise.id)
    return enterprise, member


async def claim_prompt(uow: UnitOfWork, rt: Runtime, identity: Identity,
                       appeal: Appeal) -> tuple[Membership, list[ConversationKey]] | None:
    """(b) After a filing by an unverified claimant: the claim and the verified members to ask about
    it, once per claim (None when there is nobody to ask or they were asked before)."""
    if identity.staff is not None or not is_filer(identity, appeal):
        return None
    member = await uow.enterprises.membership(appeal.enterprise_id, identity.key)
    if member is None or member.status != UNVERIFIED or member.prompted_at is not None:
        return None
    keys = [k for k in await uow.enterprises.verified_keys(appeal.enterprise_id) if k != identity.key]
    if not keys:
        return None
    member.prompted_at = rt.now()
    await uow.enterprises.save_membership(member)
    return member, keys


async def prefill(uow: UnitOfWork, identity: Identity) -> tuple[Enterprise, Membership | None] | None:
    """What a next filing starts from: the enterprise's name, code and area, and the contact details
    from this person's own claim (never the profile another person wrote)."""
    if identity.enterprise_id is None:
        return None
    enterprise = await uow.enterprises.get(identity.enterprise_id)
    if enterprise is None:
        return None
    return enterprise, await uow.enterprises.membership(enterprise.id, identity.key)


# ---- verification ----

async def portal_verify(uow: UnitOfWork, rt: Runtime, key: ConversationKey, uscc_raw: str, name: str) -> bool:
    """(a) A portal token carrying the USCC the portal authenticated: this person is a verified member,
    and the portal's company name is the profile's. Returns whether anything changed."""
    uscc = normalize_uscc(uscc_raw)
    now = rt.now()
    enterprise = await uow.enterprises.get_by_uscc(uscc)
    changed = False
    if enterprise is None:
        enterprise = await uow.enterprises.create_if_missing(Enterprise(None, uscc, name, "", "", None))
        changed = True
    elif enterprise.name != name:
        await uow.enterprises.rename(enterprise.id or 0, name)
        changed = True
    assert enterprise.id is not None
    member = await uow.enterprises.membership(enterprise.id, key)
    if member is None:
        await uow.enterprises.add_membership(Membership(enterprise.id, key, VERIFIED, now, method="portal",
                                                        decided_at=now, decided_by="portal"))
        changed = True
    elif not member.verified:
        member.status, member.method, member.decided_at, member.decided_by = VERIFIED, "portal", now, "portal"
        member.reason = None
        await uow.enterprises.save_membership(member)
        await uow.appeals.mark_filer_verified(key, enterprise.id)
        changed = True
    identity = await uow.directory.identity(key)
    if identity.staff is None and identity.enterprise_id != enterprise.id:
        await uow.directory.link_enterprise(key, enterprise.id)
        changed = True
    return changed


@dataclass
class Claim:
    member: Membership
    enterprise: Enterprise


async def _claims(uow: UnitOfWork, members: list[Membership]) -> list[Claim]:
    out = []
    for m in members:
        enterprise = await uow.enterprises.get(m.enterprise_id)
        if enterprise is not None:
            out.append(Claim(m, enterprise))
    return out


async def pending_claims(uow: UnitOfWork, identity: Identity, limit: int = 20) -> list[Claim]:
    """核验: the centre's dispatchers see every pending claim; a verified member those of their enterprises."""
    if identity.staff is not None:
        await require_centre_dispatcher(uow, identity)
        return await _claims(uow, await uow.enterprises.pending_claims(None, limit))
    mine = await verified_enterprises(uow, identity)
    if not mine:
        raise Forbidden("verify_not_allowed")
    return await _claims(uow, await uow.enterprises.pending_claims(mine, limit))


async def decide(uow: UnitOfWork, rt: Runtime, identity: Identity, member_id: int, approve: bool,
                 reason: str) -> Claim:
    """(b) a verified member of the same enterprise, or (c) a dispatcher of the centre, settles a claim."""
    member = await uow.enterprises.membership_by_id(member_id)
    if identity.staff is not None:
        staff = await require_centre_dispatcher(uow, identity)
        if member is None:
            raise NotFound("claim_not_found", id=member_id)
        method, by = "dispatcher", staff.id
        if not approve and not reason.strip():
            raise InvalidInput("verify_reason_missing")
    else:
        mine = await verified_enterprises(uow, identity)
        if not mine:
            raise Forbidden("verify_not_allowed")
        if member is None or member.enterprise_id not in mine:
            raise NotFound("claim_not_found", id=member_id)  # no hint about other enterprises' claims
        method, by = "member", str(identity.key)
    if member.status != UNVERIFIED:
        raise InvalidInput("claim_settled", id=member_id)
    now = rt.now()
    member.status = VERIFIED if approve else REJECTED
    member.method, member.decided_at, member.decided_by = method, now, by
    member.reason = reason.strip()[:200] or None
    await uow.enterprises.save_membership(member)
    enterprise = await uow.enterprises.get(member.enterprise_id)
    assert enterprise is not None
    if approve:
        await uow.appeals.mark_filer_verified(member.key, member.enterprise_id)
    return Claim(member, enterprise)
