"""Personal data kept no longer than needed (purge) and handed over on request (export), in SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import tables as t

ANONYMISED = "（已匿名）"  # stored in place of a contact name; phones become ""
CLOSED_STATUSES = ("closed", "rejected", "withdrawn")  # nothing more happens to these
_CHUNK = 500


@dataclass
class PurgeCounts:
    appeals: int = 0
    events: int = 0
    texts: int = 0  # ratings' comments, call-back results, unit reports, tag-correction texts, outbox bodies
    enterprises: int = 0
    members: int = 0  # claims to an enterprise whose contact and phone were anonymised
    identities: int = 0
    conversations: int = 0


def _scrubber(mask: Callable[[str], str], names: Sequence[str]) -> Callable[[Any], Any]:
    """Masks phone numbers in text and replaces the given contact names, inside nested JSON too."""
    names = sorted({n for n in names if len(n) >= 2}, key=len, reverse=True)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            value = mask(value)
            for name in names:
                value = value.replace(name, ANONYMISED)
            return value
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return scrub


async def _rewrite(conn: AsyncConnection, table: sa.Table, key: sa.Column, columns: Sequence[str],
                   where: Any, scrub: Callable[[Any], Any]) -> int:
    """Run `scrub` over `columns` of the rows matching `where`; write back only the rows it changed."""
    rows = (await conn.execute(sa.select(key, *(table.c[c] for c in columns)).where(where))).all()
    changed = []
    for row in rows:
        new = {c: scrub(getattr(row, c)) for c in columns}
        if any(new[c] != getattr(row, c) for c in columns):
            changed.append({"_key": row[0], **{f"_{c}": v for c, v in new.items()}})
    if changed:
        stmt = sa.update(table).where(key == sa.bindparam("_key")).values(
            {c: sa.bindparam(f"_{c}") for c in columns})
        await conn.execute(stmt, changed)
    return len(changed)


async def purge_contacts(conn: AsyncConnection, cutoff: datetime, mask: Callable[[str], str]) -> PurgeCounts:
    """Anonymise the contact data of appeals closed before `cutoff`; statuses, dates, units, ratings'
    levels and the timeline's rows stay, so every statistic comes out the same afterwards.

    - appeals: contact → ANONYMISED, phone → "", phones and the contact's name masked in the text;
    - their timeline: the enterprise actor's name, phones and the name in notes and data;
    - free text about them: rating comments, call-back results, unit reports, tag corrections, and the
      bodies of the messages sent about them;
    - enterprises all of whose appeals are anonymised and not updated since: contact and phone cleared
      (the next filing asks again), and the display names of the chat identities linked to them;
    - claims to an enterprise (enterprise_members) made before the cutoff whose claimant has no appeal
      of that enterprise left un-anonymised: contact → ANONYMISED, phone → "";
    - conversations idle since before the cutoff: their stored drafts.
    Running it again finds nothing new to change.
    """
    a = t.appeals
    closed_at = sa.func.coalesce(a.c.status_since, a.c.updated_at)
    due = (await conn.execute(
        sa.select(a.c.id, a.c.number, a.c.contact).where(
            a.c.status.in_(CLOSED_STATUSES), closed_at < cutoff,
            sa.or_(a.c.contact != ANONYMISED, a.c.phone != "")).order_by(a.c.id))).all()
    counts = PurgeCounts()
    for start in range(0, len(due), _CHUNK):
        chunk = due[start:start + _CHUNK]
        ids = [r.id for r in chunk]
        numbers = [r.number for r in chunk]
        scrub = _scrubber(mask, [r.contact for r in chunk if r.contact != ANONYMISED])
        await _rewrite(conn, a, a.c.id, ["text", "resolution"], a.c.id.in_(ids), scrub)
        await conn.execute(sa.update(a).where(a.c.id.in_(ids)).values(contact=ANONYMISED, phone=""))
        counts.appeals += len(chunk)
        e = t.appeal_events
        await conn.execute(sa.update(e).where(e.c.appeal_id.in_(ids), e.c.actor_kind == "enterprise",
                                              e.c.actor_name != "").values(actor_name=ANONYMISED))
        counts.events += await _rewrite(conn, e, e.c.id, ["note", "data"], e.c.appeal_id.in_(ids), scrub)
        for table, column in ((t.ratings, "comment"), (t.callbacks, "result"), (t.appeal_holdings, "report")):
            counts.texts += await _rewrite(conn, table, table.c.id, [column], table.c.appeal_id.in_(ids), scrub)
        counts.texts += await _rewrite(conn, t.tag_corrections, t.tag_corrections.c.id, ["text"],
                                       t.tag_corrections.c.appeal_number.in_(numbers), scrub)
        counts.texts += await _rewrite(conn, t.outbox, t.outbox.c.id, ["body"],
                                       t.outbox.c.appeal_number.in_(numbers), scrub)

    ent = t.enterprises
    kept = sa.select(a.c.id).where(a.c.enterprise_id == ent.c.id, a.c.contact != ANONYMISED).exists()
    stale = (await conn.execute(sa.select(ent.c.id).where(
        ent.c.updated_at < cutoff, sa.or_(ent.c.contact != "", ent.c.phone != ""), ~kept))).scalars().all()
    for start in range(0, len(stale), _CHUNK):
        ids = list(stale[start:start + _CHUNK])
        await conn.execute(sa.update(ent).where(ent.c.id.in_(ids)).values(contact="", phone=""))
        result = await conn.execute(sa.update(t.identities).where(
            t.identities.c.enterprise_id.in_(ids), t.identities.c.display_name != "").values(display_name=""))
        counts.enterprises += len(ids)
        counts.identities += result.rowcount or 0

    m = t.enterprise_members
    own_kept = sa.select(a.c.id).where(
        a.c.enterprise_id == m.c.enterprise_id, a.c.filer_channel == m.c.channel,
        a.c.filer_external_id == m.c.external_id, a.c.contact != ANONYMISED).exists()
    result = await conn.execute(sa.update(m).where(
        m.c.claimed_at < cutoff, sa.or_(m.c.contact.not_in(["", ANONYMISED]), m.c.phone != ""), ~own_kept)
        .values(contact=ANONYMISED, phone=""))
    counts.members = result.rowcount or 0

    c = t.conversations
    empty = {"draft": {}, "history": [], "choices": []}
    idle = (await conn.execute(sa.select(c.c.channel, c.c.user_id, c.c.data).where(c.c.updated_at < cutoff))).all()
    cleared = [r for r in idle if r.data != empty]
    for r in cleared:
        await conn.execute(sa.update(c).where(c.c.channel == r.channel, c.c.user_id == r.user_id)
                           .values(step="idle", data=empty))
    counts.conversations = len(cleared)
    return counts


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


async def export_enterprise(conn: AsyncConnection, uscc: str) -> dict[str, Any] | None:
    """Everything stored about the enterprise with this code and its contacts, or None if nothing is."""
    ent = _rows(await conn.execute(sa.select(t.enterprises).where(t.enterprises.c.uscc == uscc)))
    ent_ids = [e["id"] for e in ent]
    a = t.appeals
    appeals = _rows(await conn.execute(sa.select(a).where(
        sa.or_(a.c.uscc == uscc, a.c.enterprise_id.in_(ent_ids))).order_by(a.c.id)))
    if not ent and not appeals:
        return None
    ids = [x["id"] for x in appeals]
    numbers = [x["number"] for x in appeals]

    async def per_appeal(table: sa.Table, order: sa.Column) -> dict[int, list[dict[str, Any]]]:
        grouped: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for row in _rows(await conn.execute(sa.select(table).where(table.c.appeal_id.in_(ids)).order_by(order))):
            grouped[row["appeal_id"]].append(row)
        return grouped

    parts = {
        "timeline": await per_appeal(t.appeal_events, t.appeal_events.c.id),
        "holdings": await per_appeal(t.appeal_holdings, t.appeal_holdings.c.id),
        "extension_requests": await per_appeal(t.extension_requests, t.extension_requests.c.id),
        "ratings": await per_appeal(t.ratings, t.ratings.c.id),
        "callbacks": await per_appeal(t.callbacks, t.callbacks.c.id),
        "grassroots_ratings": await per_appeal(t.grassroots_ratings, t.grassroots_ratings.c.id),
        "external_refs": await per_appeal(t.external_refs, t.external_refs.c.ref),
    }
    for appeal in appeals:
        for name, grouped in parts.items():
            appeal[name] = grouped[appeal["id"]]
    corrections = _rows(await conn.execute(sa.select(t.tag_corrections).where(
        t.tag_corrections.c.appeal_number.in_(numbers)).order_by(t.tag_corrections.c.id)))
    identities = _rows(await conn.execute(sa.select(t.identities).where(
        t.identities.c.enterprise_id.in_(ent_ids)).order_by(t.identities.c.channel, t.identities.c.external_id)))
    members = _rows(await conn.execute(sa.select(t.enterprise_members).where(
        t.enterprise_members.c.enterprise_id.in_(ent_ids)).order_by(t.enterprise_members.c.id)))
    people = [(i["channel"], i["external_id"]) for i in identities]
    people += sorted({(x["channel"], x["external_id"]) for x in members} - set(people))
    filers = {(x["filer_channel"], x["filer_external_id"]) for x in appeals if x["filer_channel"]}
    people += sorted(filers - set(people))
    conversations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for channel, user in people:
        conversations += _rows(await conn.execute(sa.select(t.conversations).where(
            t.conversations.c.channel == channel, t.conversations.c.user_id == user)))
        messages += _rows(await conn.execute(sa.select(t.outbox).where(
            t.outbox.c.channel == channel, t.outbox.c.recipient == user).order_by(t.outbox.c.id)))
    return {"uscc": uscc, "enterprises": ent, "identities": identities, "members": members, "appeals": appeals,
            "tag_corrections": corrections, "conversations": conversations, "messages_sent": messages}
