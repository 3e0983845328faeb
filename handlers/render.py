"""Formatting helpers shared by the dialogue modules: dates, refusals, timelines."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import texts
from bot.domain.appeal import Action, Appeal, AppealEvent, Status
from bot.domain.errors import DomainError
from bot.services.membership import filer_unverified


def fmt_date(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y年%m月%d日") if value else "—"


def fmt_time(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%m-%d %H:%M") if value else "—"


def unverified_mark(appeal: Appeal) -> str:
    """【未核验身份】 after the company, for staff, when the filer's claim to it is not verified."""
    return texts.UNVERIFIED_MARK if filer_unverified(appeal) else ""


def refusal(err: DomainError) -> str:
    """The Chinese sentence for a refusal; unknown codes fall back to the generic one of their class."""
    params = dict(err.params)
    if "status" in params:
        params["status_label"] = texts.STATUS.get(Status(params["status"]), params["status"])
    if "role" in params:
        params["role_label"] = texts.ROLE_LABEL.get(params["role"], params["role"])
    if "action" in params:
        params["action_label"] = texts.ACTION.get(Action(params["action"]), params["action"])
    if "kind" in params:  # a tracked improvement item's kind, step and state (bot.services.improvement)
        params["kind_label"] = texts.IMPROVEMENT_WORD.get(str(params["kind"]), params["kind"])
    if "item_state" in params:
        params["item_state_label"] = texts.IMPROVEMENT_STATE.get(str(params["item_state"]), params["item_state"])
    if "step" in params:
        params["step_label"] = texts.IMPROVEMENT_STEP.get(str(params["step"]), params["step"])
    params = {k: "、".join(map(str, v)) if isinstance(v, list) else v for k, v in params.items()}
    template = texts.ERRORS.get(err.code) or texts.ERRORS.get(type(err).code, texts.ERRORS["invalid_input"])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return texts.ERRORS.get(type(err).code, texts.ERRORS["invalid_input"])


def timeline(events: list[AppealEvent], tz: ZoneInfo) -> str:
    lines = []
    for e in events:
        note = f"：{e.note}" if e.note else ""
        if e.from_status is not None and e.from_status != e.to_status:
            note += f"（{texts.STATUS[e.from_status]}→{texts.STATUS[e.to_status]}）"
        lines.append(texts.TIMELINE_LINE.format(at=fmt_time(e.at, tz), who=e.actor.name or "系统",
                                                action=texts.ACTION[e.action], note=note))
    return "\n".join(lines)
