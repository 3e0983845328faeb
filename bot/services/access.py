"""Who may do what: authorization lives here, in the services, never in the dialogue handlers."""

from __future__ import annotations

from bot.domain.appeal import Appeal
from bot.domain.errors import Forbidden, NotFound
from bot.services.ports import Holding, Identity, Staff, UnitOfWork


def require_role(identity: Identity, *roles: str, code: str) -> Staff:
    """The staff member when their role is one of `roles`; Forbidden(code) otherwise."""
    if identity.staff is None or identity.staff.role not in roles:
        raise Forbidden(code, role=identity.role)
    return identity.staff


def require_enterprise(identity: Identity, command: str) -> None:
    """Filing, supplementing and withdrawing are the enterprise's own: staff are refused, told why."""
    if identity.staff is not None:
        raise Forbidden("command_not_for_role", command=command, role=identity.role)


async def require_centre_dispatcher(uow: UnitOfWork, identity: Identity) -> Staff:
    """Dispatching is the service centre's job: a dispatcher of a service_centre unit."""
    staff = require_role(identity, "dispatcher", code="dispatch_centre_only")
    units = {u.id: u for u in await uow.directory.units()}
    unit = units.get(staff.unit_id)
    if unit is None or unit.kind != "service_centre":
        raise Forbidden("dispatch_centre_only", role=identity.role)
    return staff


async def load_appeal(uow: UnitOfWork, number: str) -> Appeal:
    """The appeal by its number (any case); NotFound otherwise. Every check below starts from it."""
    appeal = await uow.appeals.get(number.upper())
    if appeal is None:
        raise NotFound("appeal_not_found", number=number)
    return appeal


async def centre_dispatcher_and_appeal(uow: UnitOfWork, identity: Identity, number: str) -> tuple[Staff, Appeal]:
    """The opening of every centre command on one appeal: the dispatcher first, then the appeal."""
    staff = await require_centre_dispatcher(uow, identity)
    return staff, await load_appeal(uow, number)


async def require_holder(uow: UnitOfWork, identity: Identity, appeal: Appeal, *,
                         lead_only: bool = False) -> tuple[Staff, Holding]:
    """A handler whose unit holds the appeal now (as lead, or as co-unit unless lead_only)."""
    staff = require_role(identity, "handler", code="handler_only")
    spells = [h for h in await uow.handling.holdings(appeal.id, open_only=True) if h.unit_id == staff.unit_id]
    lead = [h for h in spells if h.role == "lead"]
    if lead:
        return staff, lead[0]
    if spells and not lead_only:
        return staff, spells[0]
    if spells:
        raise Forbidden("lead_only", number=appeal.number)
    raise Forbidden("not_held_by_unit", number=appeal.number)


async def held_appeal(uow: UnitOfWork, identity: Identity, number: str, *, lead_only: bool = False
                      ) -> tuple[Appeal, Staff, Holding]:
    """The opening of every handler command on one appeal: the appeal, then the holder check."""
    appeal = await load_appeal(uow, number)
    staff, spell = await require_holder(uow, identity, appeal, lead_only=lead_only)
    return appeal, staff, spell
