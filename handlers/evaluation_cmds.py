"""评价改进 in chat: the rating dialogue, 核实, 差评, 回访, 重复 and 上级评价 (统计 / 指数 / 报告 are in kpi_cmds)."""

from __future__ import annotations

from bot import texts
from bot.domain.appeal import Appeal, Status
from bot.domain.rating import SOLVED
from bot.messages import Choice
from bot.services import callbacks
from bot.services import evaluation as svc
from bot.services.appeals import own_open_appeals
from bot.services.ports import Rating
from handlers.handling_common import (
    Malformed,
    appeal_command,
    due_text,
    parse_number,
    phone_for,
    tell_dispatchers,
    tell_enterprise,
    tell_unit,
    unit_names,
    words,
)
from handlers.registry import DISPATCHER, ENTERPRISE, HANDLER, OVERSIGHT, CommandRegistry
from handlers.steps import Step
from handlers.turn import Turn

# A button sends the level's word: a bare digit would be read as an option number (issue 15, item 0).
LEVEL_CHOICES = [Choice(texts.RATING_LEVEL_LABELS[n], texts.RATING_LEVEL_LABELS[n]) for n in (5, 4, 3, 2, 1)]


# ---- the rating dialogue (enterprise) ----

async def rate(turn: Turn, arg: str) -> None:
    number, rest = parse_number(arg)
    if number is None:
        waiting = await _own_resolved(turn)
        if len(waiting) != 1:
            turn.say(texts.RATE_NONE if not waiting else texts.RATE_USAGE,
                     [Choice(f"评价 {a.number}", f"评价 {a.number}") for a in waiting[:5]])
            return
        number = waiting[0].number
    appeal, rnd = await svc.rating_round(turn.uow, turn.identity, number)
    turn.reset()
    turn.state.data = {"number": appeal.number, "round": rnd}
    level = svc.parse_level(rest) if rest else None
    if level is not None:
        turn.draft["level"] = level
        _ask_tags(turn)
        return
    names = await unit_names(turn)
    turn.goto(Step.RATING_LEVEL)
    turn.say(texts.RATE_ASK_LEVEL.format(number=appeal.number, unit=names.get(appeal.lead_unit_id or "", ""),
                                         round=texts.RATE_ROUND2.format(round=rnd) if rnd > 1 else ""),
             LEVEL_CHOICES, appeal_number=appeal.number)


async def _own_resolved(turn: Turn) -> list[Appeal]:
    return [a for a in await own_open_appeals(turn.uow, turn.identity) if a.status == Status.RESOLVED]


def _tag_choices(tags: tuple[str, ...], chosen: list[str]) -> list[Choice]:
    """Each tag toggles (its word is what it sends); 完成 records the chosen ones, 跳过 none."""
    return ([Choice(texts.RATE_TAG_CHOSEN.format(tag=t) if t in chosen else t, t) for t in tags]
            + [Choice(texts.RATE_TAGS_DONE, texts.RATE_TAGS_DONE), Choice(texts.RATE_SKIP, texts.RATE_SKIP)])


def _ask_tags(turn: Turn) -> None:
    level = int(turn.draft["level"])
    tags = svc.tagset(turn.rt).tags(level)
    turn.draft["tags"] = []
    turn.goto(Step.RATING_TAGS)
    turn.say(texts.RATE_ASK_TAGS.format(level=texts.RATING_LEVEL_LABELS[level]), _tag_choices(tags, []))


def _ask_comment(turn: Turn) -> None:
    turn.goto(Step.RATING_COMMENT)
    turn.say(texts.RATE_ASK_COMMENT.format(max=svc.COMMENT_MAX), [Choice(texts.RATE_SKIP, texts.RATE_SKIP)])


async def on_level(turn: Turn) -> None:
    level = svc.parse_level(turn.text)
    if level is None:
        turn.say(texts.ERRORS["rating_level"], LEVEL_CHOICES)
        return
    turn.draft["level"] = level
    _ask_tags(turn)


async def on_tags(turn: Turn) -> None:
    """A tapped tag toggles and asks again; 完成 or typed numbers / names are the answer."""
    level = int(turn.draft["level"])
    tags = svc.tagset(turn.rt).tags(level)
    chosen: list[str] = list(turn.draft.get("tags", []))
    if turn.text == texts.RATE_SKIP:
        turn.draft["tags"] = []
        _ask_comment(turn)
        return
    if turn.text == texts.RATE_TAGS_DONE:
        _ask_comment(turn)
        return
    # A tapped button sends the tag's word; a typed number ("1") is an answer like "1 3", not a toggle.
    if turn.text in tags and not turn.msg.text.strip().isdigit():
        chosen = [t for t in chosen if t != turn.text] if turn.text in chosen else [*chosen, turn.text]
        turn.draft["tags"] = chosen
        turn.say(texts.RATE_TAGS_SO_FAR.format(tags="、".join(turn.draft["tags"]) or texts.RATE_NO_TAGS),
                 _tag_choices(tags, turn.draft["tags"]))
        return
    typed: list[str] = []
    for word in words(turn.text):
        if word.isdigit() and 1 <= int(word) <= len(tags):
            typed.append(tags[int(word) - 1])
        elif word in tags:
            typed.append(word)
        else:
            turn.say(texts.RATE_TAGS_UNKNOWN.format(text=word[:20]), _tag_choices(tags, chosen))
            return
    turn.draft["tags"] = list(dict.fromkeys([*chosen, *typed]))  # in the order they were picked
    _ask_comment(turn)


async def on_comment(turn: Turn) -> None:
    said = turn.text.strip().strip("。.！!，,~～ ")
    comment = "" if said in texts.RATE_NO_COMMENT else turn.text.strip()
    if len(comment) > svc.COMMENT_MAX:
        turn.say(texts.ERRORS["comment_long"].format(max=svc.COMMENT_MAX), [Choice(texts.RATE_SKIP, texts.RATE_SKIP)])
        return
    turn.draft["comment"] = comment
    turn.goto(Step.RATING_SOLVED)
    turn.say(texts.RATE_ASK_SOLVED, [Choice(s, s) for s in SOLVED])


def _note(level: int, rnd: int, tags: list[str], solved: str, comment: str) -> str:
    return texts.RATE_NOTE.format(level=texts.RATING_LEVEL_LABELS[level], round=rnd,
                                  tags="、".join(tags) or texts.RATE_NO_TAGS, solved=solved,
                                  comment=texts.RATE_NOTE_COMMENT.format(comment=comment) if comment else "")


async def on_solved(turn: Turn) -> None:
    if turn.text not in SOLVED:
        turn.say(texts.ERRORS["rating_solved"], [Choice(s, s) for s in SOLVED])
        return
    d = turn.draft
    level, tags, comment = int(d["level"]), list(d.get("tags", [])), str(d.get("comment", ""))
    result = await svc.rate(turn.uow, turn.rt, turn.identity, d["number"], level, tags, comment, turn.text,
                            note=_note(level, int(d.get("round", 1)), tags, turn.text, comment))
    turn.reset()
    a, r = result.appeal, result.rating
    if not r.bad:
        turn.say(texts.RATED_GOOD.format(number=a.number), appeal_number=a.number)
        await invite_grassroots(turn, a)
        return
    due = due_text(turn, r.verify_due_at)
    turn.say(texts.RATED_BAD.format(level=texts.RATING_LEVEL_LABELS[level], due=due), appeal_number=a.number)
    names = await unit_names(turn)
    await tell_dispatchers(turn, texts.STAFF_BAD_REVIEW.format(
        number=a.number, company=a.enterprise_name, level=texts.RATING_LEVEL_LABELS[level],
        tags="、".join(tags) or texts.RATE_NO_TAGS, solved=turn.text,
        comment=texts.RATE_NOTE_COMMENT.format(comment=comment) if comment else "",
        unit=names.get(r.unit_id or "", "—"), due=due), a.number)


# ---- 差评核实 and the list (dispatchers) ----

async def awaiting_verification(turn: Turn) -> list[tuple[str, str]] | None:
    """核实's offer: the 差评 still waiting for the centre's verdict."""
    if turn.identity.role != "dispatcher":
        return None
    return [(number, texts.VERIFY_PICK_LABEL.format(level=texts.RATING_LEVEL_LABELS[r.level]))
            for number, r in await svc.bad_reviews(turn.uow, turn.identity) if r.verdict is None]


@appeal_command(texts.BAD_REVIEW_VERIFY_USAGE, word="核实", offer=awaiting_verification)
async def verify(turn: Turn, number: str, rest: str) -> None:
    verdict, _, note = rest.partition(" ")
    if verdict not in ("有效", "无效"):
        raise Malformed
    valid = verdict == "有效"
    kind = ""
    head, _, tail = note.strip().partition(" ")
    if not valid and head in ("误评", "恶意"):
        kind, note = head, tail
    names = await unit_names(turn)

    def describe(r: Rating) -> str:
        if r.verdict == "valid":
            return texts.VERIFY_NOTE_VALID.format(note=note.strip(), unit=names.get(r.rectify_unit_id or "", ""),
                                                  due=due_text(turn, r.rectify_due_at))
        return texts.VERIFY_NOTE_INVALID.format(kind=r.verdict_kind, note=note.strip())

    result = await svc.verify(turn.uow, turn.rt, turn.identity, number, valid, note, kind, describe)
    a, r = result.appeal, result.rating
    if valid:
        unit = names.get(r.rectify_unit_id or "", "")
        due = due_text(turn, r.rectify_due_at)
        await tell_unit(turn, r.rectify_unit_id, texts.STAFF_RECTIFY_TASK.format(
            number=a.number, company=a.enterprise_name, level=texts.RATING_LEVEL_LABELS[r.level],
            tags="、".join(r.tags) or texts.RATE_NO_TAGS, note=r.verdict_note, due=due), a.number)
        tell_enterprise(turn, a, texts.ENT_VERIFIED_VALID.format(number=a.number, unit=unit, due=due))
        turn.say(texts.VERIFIED_VALID_OK.format(number=a.number, unit=unit, due=due,
                                                days=turn.rt.policy.evaluation.rectify_days), appeal_number=a.number)
    else:
        tell_enterprise(turn, a, texts.ENT_VERIFIED_INVALID.format(number=a.number, note=r.verdict_note))
        turn.say(texts.VERIFIED_INVALID_OK.format(number=a.number, kind=r.verdict_kind), appeal_number=a.number)
        await invite_grassroots(turn, a)


async def invite_grassroots(turn: Turn, appeal: Appeal) -> None:
    """The appeal has closed: the unit that escalated it (or the enterprise's township) is asked to rate."""
    pair = await svc.grassroots_rater(turn.uow, appeal)
    if appeal.status != Status.CLOSED or pair is None:
        return
    names = await unit_names(turn)
    await tell_unit(turn, pair[0], texts.SCHEDULED["grassroots_invite"].format(
        number=appeal.number, company=appeal.enterprise_name, rated=names.get(pair[1], pair[1])), appeal.number)


async def bad_list(turn: Turn, arg: str) -> None:
    items = await svc.bad_reviews(turn.uow, turn.identity)
    if not items:
        turn.say(texts.BAD_LIST_EMPTY)
        return
    names = await unit_names(turn)
    lines = [texts.BAD_LIST_HEAD.format(n=len(items))]
    for number, r in items:
        level = texts.RATING_LEVEL_LABELS[r.level]
        if r.verdict is None:
            late = texts.LATE_MARK if r.verify_due_at and turn.now > r.verify_due_at else ""
            lines.append(texts.BAD_LIST_VERIFY.format(number=number, level=level, due=due_text(turn, r.verify_due_at),
                                                      late=late))
        else:
            late = texts.LATE_MARK if r.rectify_due_at and turn.now > r.rectify_due_at else ""
            lines.append(texts.BAD_LIST_RECTIFY.format(number=number, level=level, late=late,
                                                       unit=names.get(r.rectify_unit_id or "", ""),
                                                       due=due_text(turn, r.rectify_due_at)))
    turn.say("\n".join(lines))


# ---- 回访 ----

async def callback(turn: Turn, arg: str) -> None:
    number, result = parse_number(arg)
    if number is None:
        tasks = await callbacks.callback_tasks(turn.uow, turn.rt, turn.identity)
        progress = callback_progress_text(await callbacks.callback_progress(turn.uow, turn.rt))
        if not tasks:
            turn.say("\n".join([texts.CALLBACK_EMPTY, progress]))
            return
        seed = await callbacks.callback_seed(turn.uow, turn.rt)
        lines = [texts.CALLBACK_HEAD.format(n=len(tasks), seed=seed)]
        for a, c in tasks:
            lines.append(texts.CALLBACK_LINE.format(
                number=a.number, reason=texts.CALLBACK_REASON.get(c.reason, c.reason), company=a.enterprise_name,
                contact=a.contact, phone=phone_for(a, True)))
        lines += [progress, texts.CALLBACK_TAIL]
        turn.say("\n".join(lines))
        return
    done = await callbacks.record_callback(turn.uow, turn.rt, turn.identity, number, result)
    appeal, task = done.appeal, done.task
    if done.rating is not None:
        r = done.rating
        text = texts.CALLBACK_RATED.format(number=appeal.number, source=r.source,
                                           level=texts.RATING_LEVEL_LABELS[r.level], solved=r.solved,
                                           comment=r.comment or texts.CALLBACK_NO_COMMENT)
        if r.bad:
            text += texts.CALLBACK_RATED_BAD
    else:
        text = texts.CALLBACK_OK.format(number=appeal.number, method=task.method, result=task.result,
                                        verdict=texts.CALLBACK_VERDICT[bool(task.satisfied)])
    turn.say(text, appeal_number=appeal.number)


def callback_progress_text(p: callbacks.CallbackProgress) -> str:
    """This month's 电话 / 现场 call-backs against the configured shares."""
    return texts.CALLBACK_PROGRESS.format(total=p.total, phone=p.done["电话"], phone_target=p.target["电话"],
                                          onsite=p.done["现场"], onsite_target=p.target["现场"])


# ---- 重复投诉 ----

@appeal_command(texts.REPEAT_USAGE)
async def repeat(turn: Turn, number: str, rest: str) -> None:
    verb, _, other = rest.partition(" ")
    if verb not in ("确认", "取消"):
        raise Malformed
    earlier, _ = parse_number(other)
    appeal = await svc.decide_repeat(turn.uow, turn.rt, turn.identity, number, verb == "确认", earlier)
    template = texts.REPEAT_CONFIRMED if verb == "确认" else texts.REPEAT_UNLINKED
    turn.say(template.format(number=appeal.number, earlier=appeal.repeat_of), appeal_number=appeal.number)


# ---- 基层评价 ----

@appeal_command(texts.GRASSROOTS_USAGE)
async def grassroots(turn: Turn, number: str, rest: str) -> None:
    head, _, comment = rest.partition(" ")
    level = svc.parse_level(head) if head else None
    if level is None:
        raise Malformed
    appeal, rating = await svc.grassroots_rate(turn.uow, turn.rt, turn.identity, number, level, comment)
    names = await unit_names(turn)
    turn.say(texts.GRASSROOTS_OK.format(unit=names.get(rating.rated_unit_id, rating.rated_unit_id),
                                        number=appeal.number, level=texts.RATING_LEVEL_LABELS[level]),
             appeal_number=appeal.number)


def register(reg: CommandRegistry) -> None:
    reg.command("评价", "/rate", roles=ENTERPRISE)(rate)
    reg.command("核实", "/verify", roles=DISPATCHER)(verify)
    reg.command("差评", "/badreviews", roles=OVERSIGHT)(bad_list)
    reg.command("回访", "/callback", roles=DISPATCHER)(callback)
    reg.command("重复", "/repeat", roles=DISPATCHER)(repeat)
    reg.command("上级评价", "/rateup", roles=HANDLER)(grassroots)
    for step, fn in ((Step.RATING_LEVEL, on_level), (Step.RATING_TAGS, on_tags), (Step.RATING_COMMENT, on_comment),
                     (Step.RATING_SOLVED, on_solved)):
        reg.step(step, fn, texts.RATE_WHAT)
