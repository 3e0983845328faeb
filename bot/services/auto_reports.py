"""Reports that arrive by themselves (规范 8.1, issue 17 §6): last month's and last quarter's 企业服务指数
report, sent to the leaders as a download link on the first working day after the period ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.messages import ConversationKey, OutboundMessage
from bot.services.cases import candidates
from bot.services.kpi import report_for
from bot.services.ports import UnitOfWork
from bot.services.scheduling import SweepContext, SweepRegistry


@dataclass(frozen=True)
class AutoReport:
    """What the delivery message says; rendered by the NoticeRenderer (digest kind "report")."""

    kind: str  # month, quarter
    label: str  # 2026-11, 2026Q4
    received: int
    resolved: int
    index: float | None
    name: str  # the file's name
    until: datetime  # the link works until then
    showcase: bool  # a quarter with positive or negative cases for the leader to approve


def ended_periods(today: date, monthly: bool, quarterly: bool) -> list[tuple[str, str, date]]:
    """(kind, label, first day after it) of the month and quarter that ended most recently."""
    first = today.replace(day=1)
    last_month = first - timedelta(days=1)
    out = []
    if monthly:
        out.append(("month", f"{last_month.year}-{last_month.month:02d}", first))
    if quarterly:
        q_first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        prev = q_first - timedelta(days=1)
        out.append(("quarter", f"{prev.year}Q{(prev.month - 1) // 3 + 1}", q_first))
    return out


def first_workday(ctx: SweepContext, day: date) -> date:
    for _ in range(60):
        if ctx.rt.calendar.is_workday(day):
            return day
        day += timedelta(days=1)
    return day


async def recipients(uow: UnitOfWork, ctx: SweepContext) -> list[tuple[str, ConversationKey]]:
    """(staff id, chat) of the configured recipients, or of every leader; each gets a link of their own."""
    chosen = ctx.rt.policy.reports.recipients
    if not chosen:
        return await uow.cases.staff_keys("leader")
    found = await uow.cases.staff_keys("leader") + await uow.cases.staff_keys("dispatcher")
    return [(staff_id, key) for staff_id, key in found if staff_id in chosen]


async def deliver_reports(ctx: SweepContext) -> int:
    """From [reports] deliver_at on the first working day after a period (or up to catch_up_workdays
    later, when the scheduler was down), once per period: the claim makes restarts and instances safe."""
    policy, links = ctx.rt.policy.reports, ctx.rt.links
    if links is None or not (policy.monthly or policy.quarterly):
        return 0
    now = ctx.now()
    local = ctx.local(now)
    today = local.date()
    if not ctx.rt.calendar.is_workday(today) or local.time() < policy.deliver_at or ctx.is_quiet(now):
        return 0
    sent = 0
    for kind, label, after in ended_periods(today, policy.monthly, policy.quarterly):
        start = first_workday(ctx, after)
        if today < start:
            continue
        late = ctx.rt.calendar.workdays_between(datetime.combine(start, policy.deliver_at, tzinfo=ctx.rt.tz), now)
        if late > policy.catch_up_workdays:
            continue  # too late to be news: 报告 {label} still fetches it on demand
        async with ctx.rt.uow() as uow:
            people = await recipients(uow, ctx)
            if not await uow.sweeps.claim("report_auto", label, "once", now, recipients=len(people)):
                continue
            report = await report_for(uow, ctx.rt, None, label)
            positive, negative = candidates(report)
            messages = []
            for staff_id, key in people:
                link = links.make(label, "html", staff_id, now)
                data = AutoReport(kind, label, report.total.received, report.total.resolved, report.total.index,
                                  link.name, link.expires_at, kind == "quarter" and bool(positive or negative))
                messages.append(OutboundMessage(key, ctx.render.digest("report", data),
                                                link={"url": link.url, "name": link.name}))
            await uow.outbox.add(messages, now)
            await uow.commit()
            sent += len(messages)
    return sent


def register(reg: SweepRegistry) -> None:
    reg.add("report_auto", deliver_reports)
