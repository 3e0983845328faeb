"""Org directory use cases: load the configured units and staff; who is where, and how to reach them."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.appeal import Appeal
from bot.messages import ConversationKey
from bot.services.ports import OrgUnit, Staff, UnitOfWork


async def sync_org(uow: UnitOfWork, units: Sequence[OrgUnit], staff: Sequence[Staff]) -> None:
    """Configured org wins; the caller commits."""
    await uow.directory.replace_org(units, staff)


async def unit_names(uow: UnitOfWork) -> dict[str, str]:
    return {u.id: u.name for u in await uow.directory.units()}


async def townships(uow: UnitOfWork) -> list[OrgUnit]:
    """The units an appeal's area is chosen from."""
    return [u for u in await uow.directory.units() if u.kind == "township"]


async def dispatcher_keys(uow: UnitOfWork) -> list[ConversationKey]:
    """Where the service centre's dispatchers are reached."""
    return list(await uow.directory.keys_for_role("dispatcher"))


def enterprise_key(appeal: Appeal) -> ConversationKey | None:
    """The filer's chat identity; appeals entered by staff or imported have none (told by phone)."""
    if appeal.filer_channel and appeal.filer_external_id:
        return ConversationKey(appeal.filer_channel, appeal.filer_external_id)
    return None


async def unit_keys(uow: UnitOfWork, unit_id: str) -> list[ConversationKey]:
    """Where a unit's handlers are reached."""
    return list(await uow.handling.keys_for_unit(unit_id))


async def staff_keys(uow: UnitOfWork, staff_ids: Sequence[str]) -> list[ConversationKey]:
    """Where these staff members are reached (the 专家评审 panel, a proposer)."""
    return list(await uow.directory.keys_for_staff(staff_ids))


async def role_keys(uow: UnitOfWork, role: str) -> list[ConversationKey]:
    """Where every staff member of a role is reached (the leaders)."""
    return list(await uow.directory.keys_for_role(role))
