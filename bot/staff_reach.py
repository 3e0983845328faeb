"""Staff reached before they ever message the bot: configured userids linked, the others looked up by mobile."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot import texts
from bot.channels.ports import Channel, ChannelDirectory
from bot.config import Settings
from bot.domain.errors import InvalidInput
from bot.domain.identifiers import mask_mobile, normalize_mobile
from bot.messages import ConversationKey
from bot.services import directory, reach
from bot.services.delivery import DeliveryError, OutboxSender
from bot.services.runtime import Runtime

log = logging.getLogger(__name__)
CHANNEL_NAMES = {"dingtalk": "钉钉", "zzd": "浙政钉"}


class App(Protocol):
    """What of the running app (bot.bootstrap.App) the lookups use."""

    settings: Settings
    runtime: Runtime
    outbox: OutboxSender
    channels: list[Channel]


def directory_channel(app: App) -> ChannelDirectory | None:
    """The enabled channel that looks staff up by mobile, if lookups are on."""
    if not app.settings.channels.dingtalk.staff_lookup:
        return None
    return next((c for c in app.channels if isinstance(c, ChannelDirectory)), None)


async def link_configured(app: App) -> int:
    """Link every `dingtalk_userid` of the staff list to its staff member on the enabled DingTalk /
    浙政钉 channel (as 绑定 would); returns how many links are new."""
    ding = app.settings.channels.dingtalk
    if not ding.enabled:
        return 0
    links = [(s.id, ConversationKey(ding.channel, s.dingtalk_userid)) for s in app.settings.staff if s.dingtalk_userid]
    if not links:
        return 0
    async with app.runtime.uow() as uow:
        new = await reach.link_configured(uow, links, app.runtime.now())
        await uow.commit()
    if new:
        app.outbox.kick()  # notices held for them go out now
    return new


async def look_up_once(app: App, channel: ChannelDirectory) -> int:
    """One pass: every staff member with a mobile and no identity on the channel whose lookup is due is
    looked up; found ones are linked and get what was held for them, a mobile the directory does not
    know is told to the dispatchers once. Returns how many were found."""
    rt = app.runtime
    async with rt.uow() as uow:
        due = await reach.due_lookups(uow, channel.name, rt.now())
    found = 0
    for staff in due:
        try:
            user_id = await channel.user_by_mobile(normalize_mobile(staff.mobile))
        except InvalidInput:  # not a mainland mobile: no directory has it, so nobody is asked
            user_id = None
        except DeliveryError as exc:
            async with rt.uow() as uow:
                retry = await reach.failed(uow, staff, channel.name, rt.now(), str(exc))
                await uow.commit()
            log.warning("staff %s: %s lookup by mobile failed (%s); retrying at %s", staff.id, channel.name, exc,
                        retry.isoformat())
            continue
        async with rt.uow() as uow:
            if user_id is not None:
                held = await reach.found(uow, staff, ConversationKey(channel.name, user_id), rt.now())
                log.info("staff %s found in the %s directory; %s held notices released", staff.id, channel.name,
                         held)
                found += 1
            elif await reach.not_found(uow, staff, channel.name, rt.now(), "not in the directory"):
                units = await directory.unit_names(uow)
                text = texts.STAFF_NOT_IN_DIRECTORY.format(
                    name=staff.name, unit=units.get(staff.unit_id, ""), mobile=mask_mobile(staff.mobile),
                    channel=CHANNEL_NAMES.get(channel.name, channel.name), id=staff.id)
                await reach.tell_dispatchers(uow, text, rt.now())
                log.info("staff %s: mobile not in the %s directory (dispatchers told)", staff.id, channel.name)
            await uow.commit()
    if due:
        app.outbox.kick()
    return found


async def run_forever(app: App, channel: ChannelDirectory, every: float) -> None:
    """A pass at start, then one every `every` seconds (only lookups that are due make calls)."""
    while True:
        try:
            await look_up_once(app, channel)
        except Exception:  # the database away, a bug: the next pass tries again
            log.exception("staff lookup pass failed")
        await asyncio.sleep(every)
