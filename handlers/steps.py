"""Dialogue steps: stored values are stable literals, so a rename never orphans a conversation."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    IDLE = "idle"
    FILING_TEXT = "filing.text"
    FILING_COMPANY = "filing.company"
    FILING_USCC = "filing.uscc"
    FILING_CONTACT = "filing.contact"
    FILING_PHONE = "filing.phone"
    FILING_AREA = "filing.area"
    FILING_CATEGORY = "filing.category"
    FILING_CATEGORY_ALL = "filing.category_all"
    FILING_TYPE = "filing.type"
    FILING_CONFIRM = "filing.confirm"
    FILING_EDIT = "filing.edit"
    NEW_OR_SUPPLEMENT = "idle.new_or_supplement"
    SUPPLEMENT_PICK = "supplement.pick"
    WITHDRAW_CONFIRM = "withdraw.confirm"
    ENTRY_SOURCE = "entry.source"  # 录入 by the service centre
    ENTRY_FIELD = "entry.field"
    ENTRY_CONFIRM = "entry.confirm"
    RATING_LEVEL = "rating.level"  # 评价 (issue 6)
    RATING_TAGS = "rating.tags"
    RATING_COMMENT = "rating.comment"
    RATING_SOLVED = "rating.solved"
    HANDLING_TEXT = "handling.text"  # a button after 签收 sent 办结/进展/退回/延期 and the number: the rest
    IMPROVEMENT_TEXT = "improvement.text"  # a button sent 实事 意见 3 (or 否决/进展/完成): the words


# Filing fields in the order they are asked; each maps to the step that asks it.
FILING_ORDER: tuple[tuple[str, Step], ...] = (
    ("text", Step.FILING_TEXT),
    ("company", Step.FILING_COMPANY),
    ("uscc", Step.FILING_USCC),
    ("contact", Step.FILING_CONTACT),
    ("phone", Step.FILING_PHONE),
    ("area", Step.FILING_AREA),
    ("category", Step.FILING_CATEGORY),
)
