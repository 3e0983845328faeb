"""The `绑定 CODE` chat command: a staff member links this chat identity to their staff record."""

from __future__ import annotations

from bot import texts
from bot.services.binding import redeem_bind_code
from handlers.handling_common import unit_names
from handlers.registry import ENTERPRISE, CommandRegistry
from handlers.turn import Turn


async def bind(turn: Turn, arg: str) -> None:
    if not arg.strip():
        turn.say(texts.BIND_USAGE)
        return
    bound = await redeem_bind_code(turn.uow, turn.key, arg, turn.now)
    staff = bound.staff
    unit = (await unit_names(turn)).get(staff.unit_id, "")
    held = texts.BOUND_HELD.format(count=bound.held) if bound.held else ""
    turn.say(texts.BOUND.format(name=staff.name, role=texts.ROLE.get(staff.role, staff.role), unit=unit) + held)


def register(reg: CommandRegistry) -> None:
    # An unbound person is an enterprise user until 绑定 makes them staff: it is in their help.
    reg.command("绑定", "/bind", roles=ENTERPRISE)(bind)
