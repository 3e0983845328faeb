"""ChatNotices: the zh-CN words of reminders and digests (bootstrap hands it to the scheduler), and 日报."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.messages import Choice
from bot.services import digests as svc
from bot.services.auto_reports import AutoReport
from bot.services.evaluation_clocks import OverdueNotice
from bot.services.scheduling import SweepContext
from handlers.handling_common import rating_choices
from handlers.registry import OVERSIGHT, CommandRegistry
from handlers.render import fmt_date, fmt_time, unverified_mark
from handlers.turn import Turn


def overdue_notice(n: OverdueNotice, names: dict[str, str]) -> str:
    """Text of a verification / rectification overdue reminder (passed to the sweeps by the runner)."""
    due = n.due_at.strftime("%Y-%m-%d")
    if n.kind == "verify":
        return texts.OVERDUE_VERIFY.format(number=n.number, due=due)
    return texts.OVERDUE_RECTIFY.format(number=n.number, due=due, unit=names.get(n.unit_id or "", ""))


class ChatNotices:
    """Implements bot.services.scheduling.NoticeRenderer with the templates in bot/texts.py."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def _date(self, at: datetime | None) -> str:
        return fmt_date(at, self.tz)

    def text(self, kind: str, **params: Any) -> str:
        number = params.get("number", "")
        if kind in ("near_due", "overdue"):
            template = texts.SCHEDULED_NEXT_HANDLE if kind == "near_due" else texts.SCHEDULED_NEXT_OVERDUE
            params["next"] = (template if params.get("accepted") else texts.SCHEDULED_NEXT_ACCEPT).format(
                number=number)
        if "gap" in params:
            params["gap"] = texts.GAP_MARK if params["gap"] else ""
        if "role" in params:
            params["role"] = texts.TODO_ROLE.get(params["role"], params["role"])
        if "item_kind" in params:  # a tracked improvement item (实事 3, 改革 1, 跟进 2)
            params["label"] = texts.improvement_label(params["item_kind"], params["seq"])
            params["word"] = texts.IMPROVEMENT_WORD[params["item_kind"]]
        for name, value in list(params.items()):
            if isinstance(value, datetime):
                params[name] = fmt_time(value, self.tz) if name in ("since",) else self._date(value)
        return texts.SCHEDULED[kind].format(**params)

    def rating_choices(self, number: str) -> list[Choice]:
        return rating_choices(number)

    def bad_review_overdue(self, notice: Any, unit_names: dict[str, str]) -> str:
        """差评 verification / rectification overdue, with the deadline in local time."""
        return overdue_notice(replace(notice, due_at=notice.due_at.astimezone(self.tz)), unit_names)

    def digest(self, kind: str, data: Any) -> str:
        return {"leader": self.leader, "todo": self.todo, "pool": self.pool, "report": self.report}[kind](data)

    def report(self, r: AutoReport) -> str:
        """A report that arrived by itself: the figures, the link's file and how long it works."""
        index = texts.NO_DATA if r.index is None else f"{r.index:.1f}"
        text = texts.REPORT_AUTO.format(kind=texts.REPORT_AUTO_KIND[r.kind], label=r.label, received=r.received,
                                        resolved=r.resolved, index=index, name=r.name, until=fmt_time(r.until, self.tz))
        return text + ("\n" + texts.REPORT_AUTO_SHOWCASE.format(label=r.label) if r.showcase else "")

    def leader(self, d: svc.LeaderDigest) -> str:
        names = d.unit_names
        local = d.until.astimezone(self.tz)
        head = texts.DIGEST_LEADER_HEAD.format(day=local.strftime("%m月%d日"), weekday=texts.WEEKDAYS[local.weekday()])
        lines = [head]
        if d.overdue_count:
            lines.append(texts.DIGEST_OVERDUE.format(n=d.overdue_count, threshold=d.leader_threshold,
                                                     alerts=d.leader_alerts))
            lines += [texts.DIGEST_OVERDUE_LINE.format(number=i.number, unit=names.get(i.unit_id, i.unit_id),
                                                       days=i.days) for i in d.overdue]
            if d.overdue_count > len(d.overdue):
                lines.append(texts.DIGEST_MORE.format(n=d.overdue_count - len(d.overdue)))
        if d.near_due_count:
            lines.append(texts.DIGEST_NEAR.format(horizon=d.near_horizon, n=d.near_due_count))
            lines += [texts.DIGEST_NEAR_LINE.format(number=i.number, unit=names.get(i.unit_id, i.unit_id),
                                                    due=self._date(i.due_at)) for i in d.near_due]
        if d.bad_reviews:
            lines.append(texts.DIGEST_BAD.format(n=d.bad_reviews))
        if d.escalated:
            lines.append(texts.DIGEST_ESCALATED.format(n=d.escalated))
        if d.improvement is not None and not d.improvement.empty:
            lines += self.improvement(d.improvement, names)
        if not (d.overdue_count or d.near_due_count or d.bad_reviews):
            lines.append(texts.DIGEST_NO_EXCEPTIONS)
        if d.calendar_missing:
            lines.append(self.calendar_line(d.calendar_missing))
        lines.append(texts.DIGEST_VOLUME.format(since=fmt_time(d.since, self.tz), new=d.new, resolved=d.resolved,
                                                closed=d.closed, not_rated=d.not_rated))
        if d.units:
            lines.append(texts.DIGEST_UNITS_HEAD)
            lines += [texts.DIGEST_UNIT_LINE.format(unit=names.get(u.unit_id, u.unit_id), open=u.open,
                                                    overdue=u.overdue, resolved=u.resolved) for u in d.units]
        lines.append(texts.DIGEST_TAIL)
        return "\n".join(lines)

    def improvement(self, d: svc.DigestLines, names: dict[str, str]) -> list[str]:
        """为企办实事, 改革任务, 跟进: what changed since the last digest, what was finished, what is overdue."""
        lines = [texts.DIGEST_IMPROVEMENT.format(proposed=d.proposed, confirmed=d.confirmed, rejected=d.rejected,
                                                 assigned=d.assigned, progress=d.progress, done=d.done,
                                                 reviewing=d.reviewing)]
        lines += [texts.DIGEST_IMPROVEMENT_DONE.format(label=texts.improvement_label(i.kind, i.seq), title=i.title)
                  for i in d.done_items[:svc.LIST_MAX]]
        if d.overdue:
            lines.append(texts.DIGEST_IMPROVEMENT_OVERDUE.format(n=len(d.overdue)))
            lines += [texts.DIGEST_IMPROVEMENT_OVERDUE_LINE.format(
                label=texts.improvement_label(i.kind, i.seq), unit=names.get(i.owner_unit_id or "", ""),
                due=self._date(i.deadline), days=days) for i, days in d.overdue[:svc.LIST_MAX]]
        return lines

    @staticmethod
    def calendar_line(years: list[int]) -> str:
        return texts.DIGEST_CALENDAR_MISSING.format(years="、".join(map(str, years)), first=years[0])

    def todo(self, d: svc.TodoDigest) -> str:
        lines = [texts.DIGEST_TODO_HEAD.format(unit=d.unit_name, n=len(d.items))]
        for appeal, spell in d.items[:10]:
            flag = texts.DIGEST_TODO_OVERDUE if d.now > spell.due_at else ""
            if spell.accepted_at is None:
                flag += texts.DIGEST_TODO_UNSIGNED
            lines.append(texts.DIGEST_TODO_LINE.format(number=appeal.number, role=texts.TODO_ROLE[spell.role],
                                                       status=texts.STATUS[appeal.status],
                                                       due=self._date(spell.due_at), flag=flag))
        if len(d.items) > 10:
            lines.append(texts.DIGEST_MORE.format(n=len(d.items) - 10))
        lines.append(texts.DIGEST_TODO_TAIL)
        return "\n".join(lines)

    def pool(self, d: svc.PoolDigest) -> str:
        lines = [texts.DIGEST_POOL_HEAD.format(n=d.pool_count, late=d.overdue_dispatch)]
        lines += [texts.DIGEST_POOL_LINE.format(number=a.number, company=a.enterprise_name + unverified_mark(a),
                                                category=a.category,
                                                since=fmt_time(a.status_since or a.submitted_at, self.tz))
                  for a in d.oldest]
        if d.extensions:
            lines.append(texts.DIGEST_POOL_EXT.format(n=len(d.extensions),
                                                      numbers="、".join(n for n, _ in d.extensions[:5])))
        if d.calendar_missing:
            lines.append(self.calendar_line(d.calendar_missing))
        lines.append(texts.DIGEST_POOL_TAIL)
        return "\n".join(lines)


async def daily(turn: Turn, arg: str) -> None:
    """日报 / /daily: the leader digest on demand."""
    notices = ChatNotices(turn.rt.tz)
    digest = await svc.on_demand(turn.uow, SweepContext(turn.rt, notices), turn.identity)
    turn.say(notices.leader(digest))


def register(reg: CommandRegistry) -> None:
    reg.command("日报", "/daily", roles=OVERSIGHT)(daily)
