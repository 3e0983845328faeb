"""The tracked improvement items of a report period as plain rows (the report's lists and XLSX sheet)."""

from __future__ import annotations

from datetime import datetime

from bot.services.ports import UnitOfWork

KINDS = ("shishi", "reform", "followup")  # 为企办实事, 改革任务, 薄弱环节跟进


async def period_rows(uow: UnitOfWork, since: datetime, until: datetime, now: datetime) -> list[dict]:
    """Every item alive in [since, until): its state at `now`, owner, deadline, and what was done
    (progress notes in order, then the closing note)."""
    items = await uow.improvement.active_between(since, until)
    entries = await uow.improvement.entries([i.id for i in items if i.id is not None])
    names = {u.id: u.name for u in await uow.directory.units()} if items else {}
    progress: dict[int, list[str]] = {}
    votes: dict[int, dict[str, str]] = {}
    for e in entries:
        if e.kind == "progress":
            progress.setdefault(e.item_id, []).append(e.text)
        elif e.kind == "vote" and e.vote and e.staff_id:
            votes.setdefault(e.item_id, {})[e.staff_id] = e.vote  # the latest vote of each reviewer counts
    rows = []
    for i in items:
        tally = list(votes.get(i.id or 0, {}).values())
        rows.append({
            "kind": i.kind, "seq": i.seq, "title": i.title, "item_state": i.state, "source": i.source,
            "category": i.category or "", "appeals": "、".join(i.appeal_numbers), "period": i.period or "",
            "unit": names.get(i.owner_unit_id or "", i.owner_unit_id or ""), "deadline": i.deadline,
            "overdue": i.state == "assigned" and i.deadline is not None and now > i.deadline,
            "votes_for": tally.count("同意"), "votes_against": tally.count("不同意"),
            "progress": "；".join(progress.get(i.id or 0, [])), "closed_at": i.closed_at,
            "closing_note": i.closing_note or "", "decision_note": i.decision_note or "",
        })
    return rows
