"""Tracked improvement items in chat: 实事 (为企办实事 with expert review), 改革 (改革任务), 跟进 (薄弱环节)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import texts
from bot.messages import Choice, ConversationKey
from bot.services import directory
from bot.services import improvement as svc
from bot.services.ports import ImprovementEntry, ImprovementItem
from bot.services.units import AmbiguousUnit
from handlers.handling_common import ask_unit, due_text, unit_names
from handlers.registry import STAFF, CommandRegistry
from handlers.render import fmt_date, fmt_time
from handlers.steps import Step
from handlers.turn import Turn

KINDS = {svc.SHISHI: "实事", svc.REFORM: "改革", svc.FOLLOWUP: "跟进"}
NEEDS_TEXT = {"意见", "否决", "进展", "完成"}  # a button sends these with the number only: ask for the text


def label(item: ImprovementItem) -> str:
    return texts.improvement_label(item.kind, item.seq)


def _tell(turn: Turn, keys: list[ConversationKey], text: str, choices: list[Choice] | None = None) -> None:
    for key in dict.fromkeys(keys):
        if key != turn.key:
            turn.notify(key, text, choices=choices)


def _line(turn: Turn, item: ImprovementItem, votes: dict[str, ImprovementEntry], names: dict[str, str]) -> str:
    extra = ""
    if item.state == "reviewing":
        tally = [e.vote for e in votes.values()]
        extra = texts.IMPROVEMENT_LINE_VOTES.format(yes=tally.count("同意"), no=tally.count("不同意"),
                                                   have=len(tally), need=turn.rt.policy.improvement.votes_needed)
    elif item.state == "assigned":
        overdue = texts.IMPROVEMENT_OVERDUE if item.deadline and turn.now > item.deadline else ""
        extra = texts.IMPROVEMENT_LINE_OWNER.format(unit=names.get(item.owner_unit_id or "", ""),
                                                    due=due_text(turn, item.deadline), overdue=overdue)
    elif item.state == "done":
        extra = texts.IMPROVEMENT_LINE_DONE.format(unit=names.get(item.owner_unit_id or "", ""),
                                                   closed=fmt_date(item.closed_at, turn.rt.tz))
    elif item.state == "candidate":
        facts = texts.improvement_facts(item.source, item.period, item.facts, item.appeal_numbers)
        extra = texts.IMPROVEMENT_LINE_FACTS.format(facts=facts) if facts else ""
    return texts.IMPROVEMENT_LINE.format(label=label(item), state=texts.IMPROVEMENT_STATE[item.state],
                                         title=item.title, extra=extra)


async def show_list(turn: Turn, kind: str) -> None:
    result = await svc.listing(turn.uow, turn.rt, turn.identity, kind)
    names = await unit_names(turn)
    name = texts.IMPROVEMENT_LIST_NAME[kind]
    lines = [texts.IMPROVEMENT_HEAD.format(name=name, n=len(result.items)) if result.items
             else texts.IMPROVEMENT_EMPTY.format(name=name)]
    if result.collected:
        period = next((i.period for i in reversed(result.items) if i.period), "")
        lines.append(texts.IMPROVEMENT_COLLECTED.format(period=period, n=result.collected))
    lines += [_line(turn, i, result.votes.get(i.id or 0, {}), names) for i in result.items]
    lines.append(texts.IMPROVEMENT_TAIL[kind].format(days=turn.rt.policy.improvement.followup_workdays))
    choices = []
    staff = turn.identity.staff
    if kind in texts.IMPROVEMENT_CANDIDATE_CHOICE and staff is not None and staff.role in ("dispatcher", "leader"):
        # One tap sends a found candidate on: to the expert review (实事), to its weak unit (跟进).
        shown, value = texts.IMPROVEMENT_CANDIDATE_CHOICE[kind]
        choices = [Choice(shown.format(label=label(i)), value.format(seq=i.seq))
                   for i in result.items if i.state == "candidate"][:5]
    turn.say("\n".join(lines), choices)


async def show_detail(turn: Turn, kind: str, seq_text: str) -> None:
    d = await svc.detail(turn.uow, turn.identity, kind, seq_text)
    i, tz = d.item, turn.rt.tz
    names = await unit_names(turn)
    facts = texts.improvement_facts(i.source, i.period, i.facts, []) if i.source != "resolve_mark" else ""
    reviews = ""
    if i.kind == svc.SHISHI and i.state != "candidate":
        votes = [texts.IMPROVEMENT_DETAIL_VOTE.format(
                     name=name, vote=d.votes[sid].vote,
                     opinion=texts.VOTED_OPINION.format(text=d.votes[sid].text) if d.votes[sid].text else "")
                 if sid in d.votes else texts.IMPROVEMENT_DETAIL_NO_VOTE.format(name=name)
                 for sid, name in await svc.reviewer_names(turn.uow, turn.rt)]
        need = turn.rt.policy.improvement.votes_needed
        reviews = texts.IMPROVEMENT_DETAIL_REVIEWS.format(have=len(d.votes), need=need, votes="；".join(votes))
    owner = ""
    if i.owner_unit_id and i.deadline:
        overdue = texts.IMPROVEMENT_OVERDUE if i.state == "assigned" and turn.now > i.deadline else ""
        owner = texts.IMPROVEMENT_DETAIL_OWNER.format(unit=names.get(i.owner_unit_id, i.owner_unit_id),
                                                      due=due_text(turn, i.deadline), overdue=overdue)
    entries = [texts.IMPROVEMENT_ENTRY_LINE.format(
        at=fmt_time(e.at, tz), who=e.staff_name, what=texts.IMPROVEMENT_ENTRY[e.kind].format(vote=e.vote or ""),
        text=texts.IMPROVEMENT_ENTRY_TEXT.format(text=e.text) if e.text else "") for e in d.entries]
    turn.say(texts.IMPROVEMENT_DETAIL.format(
        label=label(i), title=i.title, state=texts.IMPROVEMENT_STATE[i.state],
        source=texts.IMPROVEMENT_SOURCE.get(i.source, i.source),
        period=texts.IMPROVEMENT_DETAIL_PERIOD.format(period=i.period) if i.period else "",
        appeals=(texts.IMPROVEMENT_DETAIL_APPEALS.format(numbers="、".join(i.appeal_numbers)) if i.appeal_numbers
                 else "") + (texts.IMPROVEMENT_DETAIL_FACTS.format(facts=facts) if facts else ""),
        proposed=texts.IMPROVEMENT_DETAIL_PROPOSED.format(name=i.proposed_by_name, at=fmt_time(i.proposed_at, tz))
        if i.proposed_by_name else "",
        reviews=reviews, owner=owner,
        note=texts.IMPROVEMENT_DETAIL_NOTE.format(note=i.decision_note) if i.decision_note else "",
        closing=texts.IMPROVEMENT_DETAIL_CLOSING.format(note=i.closing_note, at=fmt_time(i.closed_at, tz))
        if i.closing_note else "",
        entries="\n".join(entries) or texts.IMPROVEMENT_NO_ENTRIES))


async def nominate(turn: Turn, arg: str) -> None:
    item = await svc.nominate(turn.uow, turn.rt, turn.identity, arg)
    reviewers = await svc.reviewer_names(turn.uow, turn.rt)
    appeals = texts.IMPROVEMENT_DETAIL_APPEALS.format(numbers="、".join(item.appeal_numbers)) \
        if item.appeal_numbers else ""
    request = texts.REVIEW_REQUEST.format(label=label(item), title=item.title, who=item.proposed_by_name,
                                          appeals=appeals, seq=item.seq)
    choices = [Choice(text, f"实事 {word} {item.seq}") for text, word in texts.REVIEW_CHOICES]
    _tell(turn, await directory.staff_keys(turn.uow, [s for s, _ in reviewers]), request, choices)
    turn.say(texts.NOMINATED_OK.format(label=label(item), title=item.title,
                                       reviewers="、".join(n for _, n in reviewers),
                                       need=turn.rt.policy.improvement.votes_needed))


async def vote(turn: Turn, choice: str, arg: str) -> None:
    seq_text, _, opinion = arg.partition(" ")
    v = await svc.vote(turn.uow, turn.rt, turn.identity, seq_text, choice, opinion)
    item = v.item
    turn.say(texts.VOTED_OK.format(label=label(item), vote=choice,
                                   opinion=texts.VOTED_OPINION.format(text=v.vote.text) if v.vote.text else "",
                                   have=len(v.votes), need=turn.rt.policy.improvement.votes_needed))
    if v.complete:
        tally = [e.vote for e in v.votes.values()]
        text = texts.REVIEW_DONE.format(label=label(item), title=item.title, yes=tally.count("同意"),
                                        no=tally.count("不同意"), other=tally.count("意见"))
        choices = [Choice(t, f"实事 {word} {item.seq}") for t, word in texts.DECIDE_CHOICES]
        _tell(turn, await directory.role_keys(turn.uow, "leader"), text, choices)


async def decide(turn: Turn, confirm: bool, arg: str) -> None:
    seq_text, _, note = arg.partition(" ")
    item, votes = await svc.decide(turn.uow, turn.rt, turn.identity, seq_text, confirm, note)
    leader = turn.identity.staff.name if turn.identity.staff else ""
    told = [item.proposed_by or "", *votes]
    keys = await directory.staff_keys(turn.uow, [s for s in told if s]) + await directory.dispatcher_keys(turn.uow)
    if confirm:
        _tell(turn, keys, texts.STAFF_CONFIRMED.format(label=label(item), title=item.title, leader=leader))
        turn.say(texts.CONFIRMED_OK.format(label=label(item), seq=item.seq))
    else:
        _tell(turn, keys, texts.STAFF_REJECTED.format(label=label(item), title=item.title, leader=leader,
                                                      reason=item.decision_note))
        turn.say(texts.SHISHI_REJECTED_OK.format(label=label(item)))


async def assign(turn: Turn, kind: str, arg: str) -> None:
    try:
        a = await svc.assign(turn.uow, turn.rt, turn.identity, kind, arg)
    except AmbiguousUnit as err:
        ask_unit(turn, err, f"{KINDS[kind]} 交办 {arg}")
        return
    item = a.item
    due = due_text(turn, item.deadline)
    note = texts.STAFF_ASSIGNED_NOTE.format(note=item.decision_note) if item.decision_note else ""
    for key in await directory.unit_keys(turn.uow, item.owner_unit_id or ""):
        if key != turn.key:
            turn.notify(key, texts.STAFF_ASSIGNED.format(
                name=texts.IMPROVEMENT_LIST_NAME[kind], label=label(item), title=item.title, note=note, due=due,
                word=KINDS[kind], seq=item.seq))
    turn.say(texts.ASSIGNED_OK.format(label=label(item), unit=a.unit_name, due=due))


async def progress(turn: Turn, kind: str, arg: str) -> None:
    item = await svc.progress(turn.uow, turn.rt, turn.identity, kind, arg)
    names = await unit_names(turn)
    text = arg.partition(" ")[2].strip()
    _tell(turn, await directory.dispatcher_keys(turn.uow), texts.STAFF_IMPROVEMENT_PROGRESS.format(
        name=texts.IMPROVEMENT_LIST_NAME[kind], label=label(item), unit=names.get(item.owner_unit_id or "", ""),
        text=text))
    turn.say(texts.IMPROVEMENT_PROGRESS_OK.format(label=label(item)))


async def finish(turn: Turn, kind: str, arg: str) -> None:
    item = await svc.finish(turn.uow, turn.rt, turn.identity, kind, arg)
    names = await unit_names(turn)
    keys = await directory.dispatcher_keys(turn.uow) + await directory.role_keys(turn.uow, "leader")
    _tell(turn, keys, texts.STAFF_FINISHED.format(
        name=texts.IMPROVEMENT_LIST_NAME[kind], label=label(item), title=item.title,
        unit=names.get(item.owner_unit_id or "", ""), text=item.closing_note))
    turn.say(texts.FINISHED_OK.format(label=label(item)))


def command(kind: str) -> Callable[[Turn, str], Awaitable[None]]:
    """实事 / 改革 / 跟进 and their verbs; the services decide who may do each."""
    async def run(turn: Turn, arg: str) -> None:
        verb, _, rest = arg.strip().partition(" ")
        rest = rest.strip()
        if not verb:
            await show_list(turn, kind)
        elif verb.lstrip("#＃").isdigit():
            await show_detail(turn, kind, verb)
        elif verb in NEEDS_TEXT and rest.lstrip("#＃").isdigit():
            _ask_text(turn, kind, verb, rest)
        elif kind == svc.SHISHI and verb == "提名":
            await nominate(turn, rest)
        elif kind == svc.SHISHI and verb in svc.VOTES:
            await vote(turn, verb, rest)
        elif kind == svc.SHISHI and verb in ("确认", "否决"):
            await decide(turn, verb == "确认", rest)
        elif verb == "交办":
            await assign(turn, kind, rest)
        elif verb == "进展":
            await progress(turn, kind, rest)
        elif verb == "完成":
            await finish(turn, kind, rest)
        else:
            turn.say(texts.IMPROVEMENT_USAGE[kind])
    return run


def _ask_text(turn: Turn, kind: str, verb: str, seq_text: str) -> None:
    """`实事 意见 3` alone (what a button sends): ask for the words, then run the command with them."""
    seq = int(seq_text.lstrip("#＃"))
    turn.reset()
    turn.state.data = {"kind": kind, "verb": verb, "seq": seq}
    turn.goto(Step.IMPROVEMENT_TEXT)
    turn.say(texts.IMPROVEMENT_ASK_TEXT[verb].format(label=texts.improvement_label(kind, seq)))


async def on_text(turn: Turn) -> None:
    kind, verb, seq = turn.draft["kind"], turn.draft["verb"], turn.draft["seq"]
    turn.reset()
    await COMMANDS[kind](turn, f"{verb} {seq} {turn.text}")


COMMANDS = {kind: command(kind) for kind in KINDS}


def register(reg: CommandRegistry) -> None:
    reg.command("实事", "/shishi", roles=STAFF)(COMMANDS[svc.SHISHI])
    reg.command("改革", "/reform", roles=STAFF)(COMMANDS[svc.REFORM])
    reg.command("跟进", "/followup", roles=STAFF)(COMMANDS[svc.FOLLOWUP])
    reg.step(Step.IMPROVEMENT_TEXT, on_text, texts.IMPROVEMENT_TEXT_WHAT)
