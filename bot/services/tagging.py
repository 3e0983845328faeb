"""Tag feedback and similar appeals: corrections for learning, supplement candidates, common problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.appeal import Appeal
from bot.domain.errors import InvalidInput
from bot.services.access import load_appeal
from bot.services.ports import TagCorrection, UnitOfWork
from nlp.rules import RuleTagger
from nlp.similarity import group_similar, rank_similar

SUPPLEMENT_THRESHOLD = 0.3  # benchmarks/similar_bench.py: precision 0.998, recall 0.998 on near-duplicates
COMMON_PROBLEM_THRESHOLD = 0.35


async def record_tag_correction(uow: UnitOfWork, number: str, old: str | None, new: str, by: str | None,
                                *, now: datetime) -> TagCorrection | None:
    """Store that `by` (a staff id) changed appeal `number`'s tag from `old` to `new`, with the appeal text.

    Only records: changing the appeal's category is the caller's business (分派/改标签 commands).
    Returns None when nothing changed (old == new). Raises NotFound for an unknown appeal and
    InvalidInput for an empty new tag. The caller commits.
    """
    new_tag = (new or "").strip()
    if not new_tag:
        raise InvalidInput("category_missing")
    appeal = await load_appeal(uow, number)
    old_tag = (old or "").strip() or None
    if old_tag == new_tag:
        return None
    correction = TagCorrection(appeal.number, appeal.text, old_tag, new_tag, by, now)
    await uow.tags.add(correction)
    return correction


async def pool_examples(uow: UnitOfWork) -> list[tuple[str, str]]:
    """(text, tag) pairs for learning: dispatcher-handled appeals, the latest correction winning."""
    latest = {c.appeal_number: c for c in await uow.tags.list()}
    out: dict[str, tuple[str, str]] = {}
    for number, text, category in await uow.tags.confirmed_tags():
        out[number] = (text, category)
    for number, c in latest.items():
        out[number] = (c.text, c.new_category)
    return list(out.values())


@dataclass(frozen=True)
class Unsure:
    """A category the rules are not sure of: its probability and the likelier or next categories."""

    probability: float
    others: tuple[str, ...]


def category_unsure(tagger: RuleTagger, text: str, category: str) -> Unsure | None:
    """Unsure when the calibrated probability of `category` is below the threshold; None otherwise or uncalibrated."""
    probs = tagger.probabilities(text)
    if not probs or category not in probs or probs[category] >= tagger.confidence_threshold:
        return None
    others = tuple(c for c in sorted(probs, key=lambda c: -probs[c]) if c != category)[:2]
    return Unsure(probs[category], others)


async def closed_examples(uow: UnitOfWork) -> list[tuple[str, str]]:
    """(text, final category) of closed appeals: after every 改类, hotline imports included."""
    return [(text, category) for _, text, category in await uow.tags.closed_tags()]


def similar_own_appeals(text: str, appeals: list[Appeal], tagger: RuleTagger | None = None,
                        threshold: float = SUPPLEMENT_THRESHOLD) -> list[tuple[Appeal, float]]:
    """The enterprise's own open appeals that look like the same matter as `text`, most similar first.

    Two signals: the character-bigram overlap of the texts, and (with a tagger) the matter words:
    when the new text's suggestions include the appeal's category and share a trigger word with
    it (变压器, 补贴 …), a short follow-up such as "补贴的事有进展吗" still counts as similar.
    """
    by_number = {a.number: a for a in appeals}
    scores = {m.key: m.score for m in rank_similar(text, [(a.number, a.text) for a in appeals])}
    if tagger is not None:
        suggestions = {s.label: set(s.evidence) for s in tagger.suggest(text)}
        for a in appeals:
            words = suggestions.get(a.category)
            if not words:
                continue
            theirs = set(a.tag_evidence.get(a.category) or ())
            if not theirs:
                theirs = {w for s in tagger.suggest(a.text) if s.label == a.category for w in s.evidence}
            shared = words & theirs
            if shared:
                scores[a.number] = max(scores[a.number], min(1.0, 0.25 + 0.1 * len(shared)))
    ranked = sorted(((by_number[k], v) for k, v in scores.items() if v >= threshold), key=lambda x: -x[1])
    return ranked


@dataclass(frozen=True)
class CommonProblem:
    """Open appeals of different enterprises that describe the same problem."""

    numbers: tuple[str, ...]
    enterprises: tuple[str, ...]
    categories: tuple[str, ...]


async def common_problems(uow: UnitOfWork, threshold: float = COMMON_PROBLEM_THRESHOLD,
                          limit: int = 2000, touching: set[str] | None = None) -> list[CommonProblem]:
    """Groups of open appeals from two or more enterprises on the same problem, largest first;
    with `touching`, only the groups that contain one of those appeal numbers."""
    appeals = await uow.tags.open_appeals(limit)
    by_number = {a.number: a for a in appeals}
    groups = group_similar([(a.number, str(a.enterprise_id), a.text) for a in appeals], threshold, touching)
    out = []
    for numbers in groups:
        members = [by_number[n] for n in sorted(numbers)]
        out.append(CommonProblem(tuple(a.number for a in members),
                                 tuple(dict.fromkeys(a.enterprise_name for a in members)),
                                 tuple(dict.fromkeys(a.category for a in members))))
    return out
