"""The transition table: every move in product.md is allowed, every other is refused unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.appeal import (
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    Actor,
    Appeal,
    AppealType,
    Source,
    Status,
)
from bot.domain.errors import IllegalTransition

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
ACTOR = Actor("staff", "chen-dispatch", "陈晓")

# The lifecycle diagram of product.md, written out independently of the table under test.
EXPECTED_MOVES = {
    (Status.SUBMITTED, Action.DISPATCH): Status.DISPATCHED,
    (Status.DISPATCHED, Action.ACCEPT): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.RESOLVE): Status.RESOLVED,
    (Status.DISPATCHED, Action.RETURN): Status.SUBMITTED,
    (Status.IN_PROGRESS, Action.RETURN): Status.SUBMITTED,
    (Status.DISPATCHED, Action.ESCALATE): Status.DISPATCHED,
    (Status.IN_PROGRESS, Action.ESCALATE): Status.DISPATCHED,
    (Status.SUBMITTED, Action.REJECT): Status.REJECTED,
    (Status.SUBMITTED, Action.MERGE): Status.REJECTED,
    (Status.RESOLVED, Action.RATE_GOOD): Status.CLOSED,
    (Status.RESOLVED, Action.RATE_BAD): Status.VERIFYING,
    (Status.RESOLVED, Action.RATING_EXPIRED): Status.CLOSED,
    (Status.VERIFYING, Action.VERIFY_VALID): Status.RECTIFYING,
    (Status.VERIFYING, Action.VERIFY_INVALID): Status.CLOSED,
    (Status.RECTIFYING, Action.RESOLVE): Status.RESOLVED,
    **{(s, Action.WITHDRAW): Status.WITHDRAWN for s in
       (Status.SUBMITTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.VERIFYING, Status.RECTIFYING)},
}
STATUS_CHANGING = {a for (_, a), _ in EXPECTED_MOVES.items()}


def make(status: Status) -> Appeal:
    return Appeal(number="QH20261125-0001", enterprise_id=1, enterprise_name="示范公司", uscc="91350100M000100Y43",
                  contact="张伟", phone="13800138000", area_id="xikou", text="变压器增容一直没有答复",
                  source=Source.WEB, type=AppealType.HELP, categories=["水电气能源"], submitted_at=NOW,
                  status=status)


@pytest.mark.parametrize(("start", "action"), list(EXPECTED_MOVES))
def test_every_documented_move_is_allowed_and_recorded(start, action):
    appeal = make(start)
    appeal.apply(action, actor=ACTOR, now=NOW, note="说明")
    assert appeal.status == EXPECTED_MOVES[(start, action)]
    [event] = appeal.pending_events
    assert (event.from_status, event.to_status, event.actor, event.note) == (start, appeal.status, ACTOR, "说明")


ILLEGAL = [(s, a) for s in Status for a in STATUS_CHANGING if (s, a) not in EXPECTED_MOVES]


@pytest.mark.parametrize(("start", "action"), ILLEGAL)
def test_every_other_status_change_is_refused_and_changes_nothing(start, action):
    appeal = make(start)
    with pytest.raises(IllegalTransition) as exc:
        appeal.apply(action, actor=ACTOR, now=NOW)
    assert appeal.status == start and appeal.pending_events == []
    assert exc.value.params == {"number": appeal.number, "status": start.value, "action": action.value}


def test_table_changes_status_exactly_as_documented():
    changing = {k: v for k, v in TRANSITIONS.items() if k[0] != v}
    assert changing == {k: v for k, v in EXPECTED_MOVES.items() if k[0] != v}


def test_final_states_accept_no_supplement():
    for status in (Status.CLOSED, Status.REJECTED, Status.WITHDRAWN):
        assert not make(status).can(Action.SUPPLEMENT)
    for status in OPEN_STATUSES:
        assert make(status).can(Action.SUPPLEMENT)
