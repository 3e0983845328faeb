"""核验: pending claims to speak for an enterprise, settled by a centre dispatcher or a verified member."""

from __future__ import annotations

from bot import texts
from bot.domain.identifiers import mask_mobile
from bot.services import membership as svc
from handlers.registry import CommandRegistry
from handlers.render import fmt_date
from handlers.turn import Turn


async def verify(turn: Turn, arg: str) -> None:
    """核验 lists the pending claims; 核验 编号 通过|拒绝 [理由] settles one and tells the claimant."""
    parts = arg.split(maxsplit=2)
    if not parts:
        claims = await svc.pending_claims(turn.uow, turn.identity)
        if not claims:
            turn.say(texts.VERIFY_EMPTY)
            return
        lines = [texts.VERIFY_HEAD.format(n=len(claims))]
        lines += [texts.VERIFY_LINE.format(id=c.member.id, company=c.enterprise.name, uscc=c.enterprise.uscc,
                                           contact=c.member.contact or "—", phone=mask_mobile(c.member.phone),
                                           claimed=fmt_date(c.member.claimed_at, turn.rt.tz)) for c in claims]
        lines.append(texts.VERIFY_TAIL)
        turn.say("\n".join(lines))
        return
    if len(parts) < 2 or not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 12 \
            or parts[1] not in svc.DECISIONS:
        turn.say(texts.MEMBER_VERIFY_USAGE)
        return
    approve = svc.DECISIONS[parts[1]]
    reason = parts[2] if len(parts) > 2 else ""
    claim = await svc.decide(turn.uow, turn.rt, turn.identity, int(parts[0]), approve, reason)
    m, company = claim.member, claim.enterprise.name
    phone = mask_mobile(m.phone)
    if approve:
        turn.say(texts.VERIFIED_OK.format(contact=m.contact or "—", phone=phone, company=company))
        turn.notify(m.key, texts.CLAIM_APPROVED.format(company=company))
    else:
        turn.say(texts.REJECTED_CLAIM_OK.format(contact=m.contact or "—", phone=phone, company=company))
        turn.notify(m.key, texts.CLAIM_REJECTED.format(company=company,
                                                       reason=m.reason or texts.CLAIM_REJECTED_NO_REASON))


def register(reg: CommandRegistry) -> None:
    # Dispatchers settle any claim, verified members their enterprise's; the service refuses anyone else.
    reg.command("核验", "/claims", roles=frozenset({"enterprise", "dispatcher"}))(verify)
