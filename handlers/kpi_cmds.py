"""Oversight commands on the 企业服务指数: 统计, 指数, and 报告 (the full report as a signed link)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import texts
from bot.services import kpi
from handlers.registry import OVERSIGHT, CommandRegistry
from handlers.render import fmt_date, fmt_time
from handlers.turn import Turn


def _pct(value: float | None) -> str:
    return texts.NO_DATA if value is None else f"{value:.1f}%"


def _n(r: kpi.Ratio) -> str:
    return f"{r.num}/{r.den}"


def stats_text(report: kpi.KpiReport, turn_tz: ZoneInfo, now: datetime) -> str:
    t, p = report.total, report.period
    end = p.end - timedelta(days=1)
    lines = [texts.STATS_HEAD.format(label=p.label, start=fmt_date(p.start, turn_tz), end=fmt_date(end, turn_tz),
                                     now=fmt_time(now, turn_tz)),
             texts.STATS_BODY.format(
                 received=t.received, resolved=t.resolved, on_time=_pct(t.on_time.pct), on_time_n=_n(t.on_time),
                 solved=_pct(t.solved.pct), solved_n=_n(t.solved), partly=_pct(t.partly_solved.pct),
                 satisfaction=_pct(t.satisfaction.pct), strict=_pct(t.satisfaction_strict.pct),
                 rated_n=_n(t.satisfaction), unrated=_pct(t.unrated.pct), unrated_n=_n(t.unrated),
                 pending=t.pending_rating, repeat=_pct(t.repeat.pct), repeat_n=_n(t.repeat), bad=t.bad_reviews,
                 rectification=_pct(t.rectification.pct), rect_n=_n(t.rectification), excluded=t.excluded_invalid,
                 callback=_pct(t.callback.pct), callback_n=_n(t.callback)),
             texts.STATS_RATING_SOURCES.format(sources="，".join(f"{s} {n}" for s, n in t.rating_sources.items()))]
    sources = sorted(((f.received, texts.SOURCE.get(key, key)) for key, f in report.by_source.items()
                      if f.received), reverse=True)
    if sources:
        lines.append(texts.STATS_SOURCES.format(sources="，".join(f"{name} {n} 件" for n, name in sources)))
    return "\n".join(lines)


async def stats(turn: Turn, arg: str) -> None:
    report = await kpi.report_for(turn.uow, turn.rt, turn.identity, arg or "本月")
    lines = [stats_text(report, turn.rt.tz, turn.now)]
    ranked = kpi.ranking(report, 1)
    if ranked:
        lines.append(texts.STATS_UNITS_HEAD)
        lines += [texts.STATS_UNIT_LINE.format(rank=i, unit=f.label, index=f.index, on_time=_pct(f.on_time.pct),
                                               satisfaction=_pct(f.satisfaction.pct))
                  for i, f in enumerate(ranked[:10], start=1)]
    turn.say("\n".join(lines))


async def index(turn: Turn, arg: str) -> None:
    report = await kpi.report_for(turn.uow, turn.rt, turn.identity, arg or "本季度")
    t = report.total
    comps = t.components()
    total_w = sum(w for _, w in report.weights) or 1
    lines = [texts.INDEX_HEAD.format(label=report.period.label,
                                     index=texts.NO_DATA if t.index is None else f"{t.index:.1f}")]
    lines += [texts.INDEX_COMPONENT.format(name=texts.INDEX_NAMES[k], weight=f"{w / total_w:.0%}",
                                           value=texts.NO_DATA if comps[k] is None else f"{comps[k]:.1f}")
              for k, w in report.weights]
    ranked = kpi.ranking(report, turn.rt.policy.evaluation.ranking_min_sample)
    if ranked:
        lines.append(texts.INDEX_RED.format(names="、".join(f"{f.label}（{f.index}）" for f in ranked[:3])))
        lines.append(texts.INDEX_BLACK.format(names="、".join(f"{f.label}（{f.index}）" for f in ranked[-3:][::-1])))
    lines.append(texts.INDEX_TAIL.format(label=report.period.label))
    turn.say("\n".join(lines), link=_report_link(turn, report))


def _report_link(turn: Turn, report: kpi.KpiReport) -> dict[str, str] | None:
    """The full report as a signed link for the one who asked; channels attach or link the file."""
    links, staff = turn.rt.links, turn.identity.staff
    if links is None or staff is None:
        return None
    link = links.make(report.period.label, "html", staff.id, turn.now)
    return {"url": link.url, "name": link.name, "until": fmt_time(link.expires_at, turn.rt.tz)}


async def report_file(turn: Turn, arg: str) -> None:
    """报告 2026Q4 / 报告 本月: the full report (charts, red and black lists, details) as a download."""
    report = await kpi.report_for(turn.uow, turn.rt, turn.identity, arg or "本季度")
    link = _report_link(turn, report)
    if link is None:
        turn.say(texts.REPORT_UNAVAILABLE)
        return
    t = report.total
    turn.say(texts.REPORT_READY.format(label=report.period.label, received=t.received, resolved=t.resolved,
                                       index=texts.NO_DATA if t.index is None else f"{t.index:.1f}",
                                       name=link["name"], until=link["until"]), link=link)


def register(reg: CommandRegistry) -> None:
    reg.command("统计", "/stats", roles=OVERSIGHT)(stats)
    reg.command("指数", "/index", roles=OVERSIGHT)(index)
    reg.command("报告", "/report", roles=OVERSIGHT)(report_file)
