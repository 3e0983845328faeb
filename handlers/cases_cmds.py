"""判例 (the typical-case library) and 典型 (the quarter's positive and negative cases for publication)."""

from __future__ import annotations

from bot import texts
from bot.services import cases as svc
from bot.services.ports import PublishedCase, TypicalCase
from handlers.handling_common import case_why, parse_number, short, unit_names, words
from handlers.registry import OVERSIGHT, STAFF, CommandRegistry
from handlers.render import fmt_time
from handlers.turn import Turn


def units_text(case: TypicalCase, names: dict[str, str]) -> str:
    return "、".join(names.get(u, u) for u in case.units) or "—"


def workdays_text(case: TypicalCase) -> str:
    if case.workdays is None:
        return "—"
    return texts.CASE_WORKDAYS.format(days=case.workdays) if case.workdays else texts.CASE_WORKDAYS_SAME_DAY


def rating_text(case: TypicalCase) -> str:
    return texts.RATING_LEVEL_LABELS.get(case.rating or 0, texts.CASE_NOT_RATED)


def case_line(case: TypicalCase, names: dict[str, str]) -> str:
    return texts.CASE_LINE.format(number=case.appeal_number, category=case.category, units=units_text(case, names),
                                  workdays=workdays_text(case), rating=rating_text(case), method=case.method)


async def cases(turn: Turn, arg: str) -> None:
    """判例 | 判例 关键词 | 判例 编号 做法."""
    number, rest = parse_number(arg)
    names = await unit_names(turn)
    if number is not None:
        case = await svc.mark(turn.uow, turn.rt, turn.identity, number, rest)  # again: the method is replaced
        turn.say(texts.CASE_MARKED.format(number=case.appeal_number, category=case.category,
                                          units=units_text(case, names), workdays=workdays_text(case),
                                          rating=rating_text(case), method=case.method),
                 appeal_number=case.appeal_number)
        return
    query = arg.strip()
    if not query:
        found = await svc.recent(turn.uow, turn.identity)
        if not found:
            turn.say(texts.CASE_NONE)
            return
        turn.say("\n".join([texts.CASE_LIST_HEAD.format(count=len(found)),
                            *(case_line(c, names) for c in found), texts.CASE_TAIL]))
        return
    matches = await svc.search(turn.uow, turn.rt, turn.identity, query)
    if not matches:
        turn.say(texts.CASE_SEARCH_NONE.format(query=short(query, 20)))
        return
    lines = [texts.CASE_SEARCH_HEAD.format(query=short(query, 20), count=len(matches))]
    for m in matches:
        lines += [case_line(m.case, names), texts.CASE_WHY.format(why=case_why(m))]
    turn.say("\n".join(lines))


def published_mark(p: PublishedCase | None, approvers: dict[str, str], turn: Turn) -> str:
    if p is None:
        return ""
    return texts.SHOWCASE_PUBLISHED.format(by=approvers.get(p.approved_by, p.approved_by),
                                           at=fmt_time(p.approved_at, turn.rt.tz))


def showcase_text(turn: Turn, show: svc.Showcase) -> str:
    label = show.period.label
    pos = [texts.SHOWCASE_POSITIVE_LINE.format(number=r["number"], unit=r["unit"], category=r["category"],
                                               comment=short(r["comment"], 60),
                                               state=published_mark(show.published.get(r["number"]),
                                                                    show.approvers, turn))
           for r in show.positive] or [texts.SHOWCASE_NONE]
    neg = [texts.SHOWCASE_NEGATIVE_LINE.format(number=r["number"], unit=r["unit"], tags=r["tags"] or "—",
                                               note=short(r["verdict_note"], 60),
                                               state=published_mark(show.published.get(r["number"]),
                                                                    show.approvers, turn))
           for r in show.negative] or [texts.SHOWCASE_NONE]
    lines = [texts.SHOWCASE_HEAD.format(period=label), texts.SHOWCASE_POSITIVE, *pos, texts.SHOWCASE_NEGATIVE, *neg]
    if show.positive or show.negative:
        lines.append(texts.SHOWCASE_TAIL.format(period=label))
    return "\n".join(lines)


async def showcase(turn: Turn, arg: str) -> None:
    """典型 [季度] | 典型 发布 [季度] 编号…."""
    parts = words(arg)
    if parts and parts[0] == "发布":
        period = ""
        rest = parts[1:]
        if rest and parse_number(rest[0])[0] is None:
            period, rest = rest[0], rest[1:]
        show, new = await svc.publish(turn.uow, turn.rt, turn.identity, period, rest)
        staff = turn.identity.staff
        lines = []
        if new:
            lines.append(texts.SHOWCASE_DONE.format(period=show.period.label, count=len(new),
                                                    numbers="、".join(p.appeal_number for p in new),
                                                    by=staff.name if staff else "", at=fmt_time(turn.now, turn.rt.tz)))
        again = [n.upper() for n in rest if n.upper() not in {p.appeal_number for p in new}]
        if again:
            lines.append(texts.SHOWCASE_ALREADY.format(numbers="、".join(dict.fromkeys(again))))
        turn.say("\n".join(lines))
        return
    turn.say(showcase_text(turn, await svc.showcase(turn.uow, turn.rt, turn.identity, arg)))


def register(reg: CommandRegistry) -> None:
    reg.command("判例", "/cases", roles=STAFF)(cases)
    reg.command("典型", "/showcase", roles=OVERSIGHT)(showcase)
