"""Leader commands: 督办."""

from __future__ import annotations

from bot import texts
from bot.services import dispatch as svc
from handlers.handling_common import appeal_command, tell_dispatchers, tell_unit, unit_names
from handlers.registry import LEADER, CommandRegistry
from handlers.turn import Turn


@appeal_command(texts.URGE_USAGE)
async def urge(turn: Turn, number: str, opinion: str) -> None:
    appeal = await svc.urge(turn.uow, turn.rt, turn.identity, number, opinion)
    leader = turn.identity.staff.name if turn.identity.staff else ""
    note = texts.STAFF_URGED.format(number=appeal.number, leader=leader, opinion=opinion.strip())
    await tell_unit(turn, appeal.lead_unit_id, note, appeal.number)
    await tell_dispatchers(turn, note, appeal.number)
    names = await unit_names(turn)
    turn.say(texts.URGED_OK.format(number=appeal.number, unit=names.get(appeal.lead_unit_id or "", "承办单位")),
             appeal_number=appeal.number)


def register(reg: CommandRegistry) -> None:
    reg.command("督办", "/urge", roles=LEADER)(urge)
