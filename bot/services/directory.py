"""Org directory use cases: load the configured units and staff into the database."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.ports import OrgUnit, Staff, UnitOfWork


async def sync_org(uow: UnitOfWork, units: Sequence[OrgUnit], staff: Sequence[Staff]) -> None:
    """Configured org wins; the caller commits."""
    await uow.directory.replace_org(units, staff)
