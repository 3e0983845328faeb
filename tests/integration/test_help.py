"""帮助 for every role is the command registry: each command a role may use is one line with its example,
and nothing else is; so help cannot drift from what is registered (issue 15 item 7, issue 18)."""

from __future__ import annotations

import pytest

from bot import texts
from handlers.registry import ALL_ROLES
from tests.conftest import Chat, bind_staff

PEOPLE = {"enterprise": None, "handler": "li-gdgs", "dispatcher": "chen-dispatch", "leader": "wang-leader",
          "admin": "admin"}


async def person(app, role: str) -> Chat:  # type: ignore[no-untyped-def]
    return Chat(app, "ent-1") if role == "enterprise" else await bind_staff(app, f"staff:{role}", PEOPLE[role])


def listed(reply: str) -> list[str]:
    """The command each help line starts with (the first word up to a space or a colon)."""
    return [line[2:].replace("：", " ").split(" ")[0] for line in reply.splitlines() if line.startswith("· ")]


@pytest.mark.parametrize("role", sorted(ALL_ROLES))
async def test_help_lists_exactly_the_commands_registered_for_the_role(app, role):
    registry = app.pipeline.router.registry
    reply = await (await person(app, role)).say("帮助")
    assert listed(reply) == [c.names[0] for c in registry.for_role(role)]


async def test_every_role_reads_the_commands_it_was_missing(app):
    # What the old hand-written texts left out (issue 15 item 7).
    enterprise, dispatcher, leader = [await person(app, r) for r in ("enterprise", "dispatcher", "leader")]
    assert {"评价", "我要反映", "查询", "补充", "撤回"} <= set(listed(await enterprise.say("帮助")))
    assert {"核实", "回访", "改类", "统计", "录入"} <= set(listed(await dispatcher.say("帮助")))
    assert {"日报", "统计", "指数", "督办"} <= set(listed(await leader.say("帮助")))
    reply = await (await person(app, "handler")).say("帮助")
    assert reply.startswith("企呼 · 工作人员 · 承办人（李") and "签收 编号" in reply
    limits = app.settings.time_limits  # the limits in the lines come from the policy, not the text
    assert f"最多 {limits.extension_max} 个工作日" in reply and f"交办后 {limits.signoff} 个工作日内" in reply


async def test_every_registered_command_has_its_example_line(app):
    registry = app.pipeline.router.registry
    assert [c.names[0] for c in registry.commands if c.names[0] not in texts.COMMAND_HELP] == []
    assert all(c.roles for c in registry.commands), "a command nobody may use is listed nowhere"
    unused = set(texts.COMMAND_HELP) - {c.names[0] for c in registry.commands}
    assert not unused, f"help lines for commands that are not registered: {unused}"


async def test_a_command_registered_later_appears_in_help_by_being_registered(app):
    async def check(turn, arg):  # type: ignore[no-untyped-def]
        turn.say("ok")

    # (核验, the example this test first used, has since been registered for real: issue 14)
    app.pipeline.router.registry.command("巡检", "/check", roles=frozenset({"dispatcher"}))(check)
    dispatcher = await person(app, "dispatcher")
    assert listed(await dispatcher.say("帮助"))[-1] == "巡检"
    assert "巡检" not in listed(await (await person(app, "leader")).say("帮助"))
    assert await dispatcher.say("巡检") == "ok"


async def test_staff_using_an_enterprise_command_are_told_why_and_nothing_is_stored(app):
    leader = await person(app, "leader")
    assert "「我要反映」不是领导可用的命令" in await leader.say("我要反映")
    assert "「补充」不是领导可用的命令" in await leader.say("补充 QH20261125-0001 材料")
    async with app.runtime.uow() as uow:
        assert await uow.appeals.get("QH20261125-0001") is None
