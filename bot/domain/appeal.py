"""The appeal, its statuses and the one transition table of its lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.errors import IllegalTransition


class Status(StrEnum):
    """Stored values are stable literals: renaming a member must keep its value."""

    SUBMITTED = "submitted"  # 待受理
    DISPATCHED = "dispatched"  # 已交办
    IN_PROGRESS = "in_progress"  # 办理中
    RESOLVED = "resolved"  # 已办结
    VERIFYING = "verifying"  # 核实中
    RECTIFYING = "rectifying"  # 整改中
    CLOSED = "closed"  # 已闭环
    REJECTED = "rejected"  # 不予受理
    WITHDRAWN = "withdrawn"  # 已撤回


class Action(StrEnum):
    SUBMIT = "submit"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    REJECT = "reject"
    MERGE = "merge"
    WITHDRAW = "withdraw"
    RATE_GOOD = "rate_good"
    RATE_BAD = "rate_bad"
    RATING_EXPIRED = "rating_expired"
    VERIFY_VALID = "verify_valid"
    VERIFY_INVALID = "verify_invalid"
    # Actions that record something on the timeline without changing the status.
    SUPPLEMENT = "supplement"
    PROGRESS = "progress"
    EXTEND = "extend"
    URGE = "urge"
    RETAG = "retag"
    # Evaluation (issue 6): timeline-only records of call-backs, repeat links and grassroots ratings.
    CALLBACK = "callback"
    LINK_REPEAT = "link_repeat"
    GRASSROOTS_RATE = "grassroots_rate"
    # Escalation through the county centre (规范 7.1): a handler's request and the centre's refusal.
    ESCALATE_REQUEST = "escalate_request"
    ESCALATE_DECLINE = "escalate_decline"


class Source(StrEnum):
    ZZD = "zzd"  # 浙政钉
    DINGTALK = "dingtalk"
    TELEGRAM = "telegram"
    WEB = "web"
    CONSOLE = "console"
    HOTLINE = "hotline"  # 12345-8
    OFFLINE = "offline"  # 线下窗口
    GRID_VISIT = "grid_visit"  # 网格走访
    CAMPAIGN = "campaign"  # 专项行动
    CONSULTATION = "consultation"  # 人大代表·政协委员·商会征询
    INDUSTRY_CHAIN = "industry_chain"  # 产业链
    QINQING = "qinqing"  # 亲清活动
    LEADER_VISIT = "leader_visit"  # 领导走访
    API = "api"  # another system through Open311 or /api/v1; the entry source (12345热线 …) is in flags


class AppealType(StrEnum):
    CONSULT = "咨询"
    HELP = "求助"
    COMPLAINT = "投诉"
    SUGGESTION = "建议"


class Level(StrEnum):
    TOWNSHIP = "乡级"
    COUNTY = "县级"
    CITY = "市级"


class Difficulty(StrEnum):
    NORMAL = "一般"
    COMPLEX = "复杂"
    HARD = "疑难"


OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.VERIFYING, Status.RECTIFYING}
)
# With a unit, counting against its deadline: what the reminders, the digests and the gauges watch.
HANDLING_STATUSES = frozenset({Status.DISPATCHED, Status.IN_PROGRESS})
# Held by a unit's spell: handling, or rectifying a valid 差评.
HOLDING_STATUSES = HANDLING_STATUSES | {Status.RECTIFYING}

# The whole lifecycle from product.md: (from, action) -> to. Anything absent is refused.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
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
    **{(s, Action.WITHDRAW): Status.WITHDRAWN for s in OPEN_STATUSES},
    # Timeline-only actions keep the status.
    **{(s, Action.SUPPLEMENT): s for s in OPEN_STATUSES | {Status.RESOLVED}},
    # DISPATCHED too: a co-unit may report to the lead before the lead has signed off.
    **{(s, Action.PROGRESS): s for s in HOLDING_STATUSES},
    **{(s, Action.EXTEND): s for s in HOLDING_STATUSES},
    **{(s, Action.URGE): s for s in OPEN_STATUSES},
    **{(s, a): s for s in HANDLING_STATUSES for a in (Action.ESCALATE_REQUEST, Action.ESCALATE_DECLINE)},
    **{(s, Action.RETAG): s for s in OPEN_STATUSES},
    # Evaluation records may come after closure too (a call-back on a closed or withdrawn appeal).
    **{(s, a): s for s in Status for a in (Action.CALLBACK, Action.LINK_REPEAT, Action.GRASSROOTS_RATE)},
}


@dataclass(frozen=True)
class Actor:
    """Who acts: kind is enterprise, staff or system; id is the enterprise or staff id."""

    kind: str
    id: str | None = None
    name: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None, "系统")


@dataclass(frozen=True)
class AppealEvent:
    """One step of the timeline: who did what, when, from which status to which."""

    action: Action
    at: datetime
    actor: Actor
    from_status: Status | None
    to_status: Status
    note: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class Appeal:
    """An enterprise appeal in the county problem pool."""

    number: str
    enterprise_id: int
    enterprise_name: str
    uscc: str
    contact: str
    phone: str
    area_id: str
    text: str
    source: Source
    type: AppealType
    categories: list[str]
    submitted_at: datetime
    status: Status = Status.SUBMITTED
    level: Level = Level.COUNTY
    difficulty: Difficulty = Difficulty.NORMAL
    tag_evidence: dict[str, list[str]] = field(default_factory=dict)
    attachments: list[dict] = field(default_factory=list)
    promised_at: datetime | None = None
    due_at: datetime | None = None
    calendar_gap: bool = False  # deadline computed without holiday data (节假日数据缺失)
    lead_unit_id: str | None = None
    co_unit_ids: list[str] = field(default_factory=list)
    handler_staff_id: str | None = None
    outcome: str | None = None
    resolution: str | None = None
    repeat_of: str | None = None
    flags: dict = field(default_factory=dict)
    filer_channel: str | None = None
    filer_external_id: str | None = None
    status_since: datetime | None = None  # when it entered its current status (scheduled clocks run from it)
    id: int | None = None
    version: int = 0
    pending_events: list[AppealEvent] = field(default_factory=list, repr=False)

    @property
    def category(self) -> str:
        return self.categories[0] if self.categories else ""

    def can(self, action: Action) -> bool:
        return (self.status, action) in TRANSITIONS

    def require(self, action: Action) -> None:
        """Raise IllegalTransition now, before asking a person to confirm something that cannot happen."""
        if not self.can(action):
            raise IllegalTransition(number=self.number, status=self.status.value, action=action.value)

    def apply(self, action: Action, *, actor: Actor, now: datetime, note: str = "", **data: object) -> Status:
        """Move along the transition table and record the event; raise IllegalTransition otherwise.

        Nothing on the appeal changes when the move is refused.
        """
        self.require(action)
        target = TRANSITIONS[(self.status, action)]
        event = AppealEvent(action, now, actor, self.status, target, note, dict(data))
        if target != self.status:
            self.status_since = now
        self.status = target
        self.pending_events.append(event)
        return target

    def record_submission(self, *, actor: Actor, now: datetime, note: str = "") -> None:
        """The first event of every appeal: it enters the pool as 待受理."""
        self.pending_events.append(AppealEvent(Action.SUBMIT, now, actor, None, Status.SUBMITTED, note))
        self.status_since = now
