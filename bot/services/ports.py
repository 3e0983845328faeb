"""Protocols the services depend on: the clock, the unit of work and its repositories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.domain.appeal import Appeal, AppealEvent
from bot.messages import ConversationKey, OutboundMessage


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """One moment: the clock of a turn replayed from the spool, which happened when it arrived."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class Enterprise:
    id: int | None
    uscc: str
    name: str
    contact: str
    phone: str
    area_id: str | None = None


@dataclass
class Membership:
    """One chat identity's claim to speak for an enterprise, with that person's own contact details."""

    enterprise_id: int
    key: ConversationKey
    status: str  # unverified, verified, rejected
    claimed_at: datetime
    contact: str = ""
    phone: str = ""
    method: str | None = None  # portal, member, dispatcher, migration
    prompted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    id: int | None = None

    @property
    def verified(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    kind: str  # department, township, city_task_force, service_centre
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Staff:
    id: str
    name: str
    unit_id: str
    role: str  # handler, dispatcher, leader, admin
    mobile: str = ""


@dataclass(frozen=True)
class Identity:
    """Who a conversation key belongs to: a staff member, an enterprise person, or nobody yet."""

    key: ConversationKey
    staff: Staff | None = None
    # The enterprise this person last filed for: what their next filing starts from. It grants nothing:
    # access to an enterprise's appeals is a verified Membership (bot.services.membership).
    enterprise_id: int | None = None

    @property
    def role(self) -> str:
        return self.staff.role if self.staff else "enterprise"


@dataclass
class ConversationState:
    """Dialogue state; `step` values are stable literals, `data` is JSON-serialisable."""

    step: str = "idle"
    data: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)  # values of the options last offered
    version: int = 0
    updated_at: datetime | None = None


class AppealRepository(Protocol):
    async def next_number(self, prefix: str, day: str) -> str: ...
    async def add(self, appeal: Appeal) -> Appeal: ...
    async def save(self, appeal: Appeal) -> None: ...
    async def get(self, number: str) -> Appeal | None: ...
    async def get_many(self, numbers: Sequence[str]) -> dict[str, Appeal]: ...
    async def list_for_person(self, key: ConversationKey, enterprise_ids: Sequence[int], *,
                              open_only: bool) -> list[Appeal]: ...
    async def mark_filer_verified(self, key: ConversationKey, enterprise_id: int) -> int: ...
    async def events(self, number: str) -> list[AppealEvent]: ...
    async def with_open_escalation_requests(self) -> list[Appeal]: ...
    async def count(self) -> int: ...


class EnterpriseRepository(Protocol):
    async def get(self, enterprise_id: int) -> Enterprise | None: ...
    async def get_by_uscc(self, uscc: str) -> Enterprise | None: ...
    async def upsert(self, enterprise: Enterprise) -> Enterprise: ...
    async def create_if_missing(self, enterprise: Enterprise) -> Enterprise: ...
    async def rename(self, enterprise_id: int, name: str) -> None: ...
    async def membership(self, enterprise_id: int, key: ConversationKey) -> Membership | None: ...
    async def membership_by_id(self, member_id: int) -> Membership | None: ...
    async def memberships(self, key: ConversationKey) -> list[Membership]: ...
    async def add_membership(self, member: Membership) -> Membership: ...
    async def save_membership(self, member: Membership) -> None: ...
    async def pending_claims(self, enterprise_ids: Sequence[int] | None, limit: int) -> list[Membership]: ...
    async def verified_keys(self, enterprise_id: int) -> list[ConversationKey]: ...


class DirectoryRepository(Protocol):
    async def units(self) -> list[OrgUnit]: ...
    async def staff(self, staff_id: str) -> Staff | None: ...
    async def active_staff(self) -> list[Staff]: ...
    async def identity(self, key: ConversationKey) -> Identity: ...
    async def link_enterprise(self, key: ConversationKey, enterprise_id: int) -> None: ...
    async def link_staff(self, key: ConversationKey, staff_id: str) -> None: ...
    async def keys_for_role(self, role: str) -> list[ConversationKey]: ...
    async def keys_for_staff(self, staff_ids: Sequence[str]) -> list[ConversationKey]: ...
    async def replace_org(self, units: Sequence[OrgUnit], staff: Sequence[Staff]) -> None: ...
    async def staff_with_keys(self, unit_id: str, role: str) -> list[tuple[Staff, list[ConversationKey]]]: ...
    async def unlinked_staff(self, channel: str) -> list[Staff]: ...
    async def lookup(self, staff_id: str, channel: str) -> StaffLookup | None: ...
    async def save_lookup(self, lookup: StaffLookup) -> None: ...


@dataclass
class StaffLookup:
    """A staff member looked up by mobile in a DingTalk / 浙政钉 org directory (bot.services.reach)."""

    staff_id: str
    channel: str
    status: str  # found, not_found, error
    tried_at: datetime
    user_id: str = ""
    attempts: int = 0
    next_at: datetime | None = None  # when to try again; None: never (found)
    detail: str = ""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    channel: str
    recipient: str
    body: dict[str, Any]
    appeal_number: str | None
    status: str  # pending, sent, dead
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None


class OutboxRepository(Protocol):
    async def add(self, messages: Sequence[OutboundMessage], now: datetime) -> list[int]: ...
    async def pending(self, channels: Sequence[str], limit: int) -> list[OutboxRow]: ...
    async def claim_many(self, ids: Sequence[int], now: datetime, lease_until: datetime) -> list[int]: ...
    async def mark_sent_many(self, ids: Sequence[int], now: datetime) -> None: ...
    async def release_many(self, ids: Sequence[int], now: datetime) -> None: ...
    async def mark_failed(self, outbox_id: int, *, attempts: int, next_attempt_at: datetime,
                          error: str, dead: bool) -> None: ...
    async def for_recipient(self, channel: str, recipient: str, after_id: int, limit: int) -> list[OutboxRow]: ...
    async def get(self, outbox_id: int) -> OutboxRow | None: ...
    async def recent(self, status: str | None, limit: int) -> list[OutboxRow]: ...
    async def requeue(self, outbox_id: int, now: datetime) -> bool: ...
    async def release_held(self, staff_id: str, to: ConversationKey, now: datetime, *, delivered: bool) -> int: ...


class BindCodeRepository(Protocol):
    async def add(self, code_hash: str, staff_id: str, expires_at: datetime) -> None: ...
    async def revoke_live(self, staff_id: str, now: datetime) -> int: ...
    async def redeem(self, code_hash: str, now: datetime) -> str | None: ...


class CallbackSignatures(Protocol):
    async def message_of(self, channel: str, timestamp: str, sign: str) -> str | None: ...
    async def prune(self, now: datetime) -> int: ...


class InboundLog(Protocol):
    async def claim(self, channel: str, message_id: str, now: datetime) -> bool: ...


@dataclass
class OpenedTurn:
    """What a turn starts from: the locked conversation state and who is speaking."""

    state: ConversationState
    identity: Identity


class TurnStore(Protocol):
    """The statements every turn starts and ends with, as few round trips as the database allows."""

    async def open(self, key: ConversationKey, message_id: str, now: datetime) -> OpenedTurn | None: ...
    async def close(self, key: ConversationKey, state: ConversationState, messages: Sequence[OutboundMessage],
                    now: datetime) -> list[int]: ...
    async def claim_signature(self, row: dict[str, Any]) -> bool: ...


@dataclass
class Holding:
    """One spell of one unit holding an appeal: as lead (主办) or co-unit (协办, with its sub-task)."""

    appeal_id: int
    unit_id: str
    role: str  # lead, co
    started_at: datetime
    signoff_due_at: datetime
    due_at: datetime
    calendar_gap: bool = False
    accepted_at: datetime | None = None
    accepted_by: str | None = None
    reported_at: datetime | None = None
    report: str | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    id: int | None = None


@dataclass
class ExtensionRequest:
    appeal_id: int
    unit_id: str
    requested_by: str
    days: int
    reason: str
    requested_at: datetime
    old_due_at: datetime
    status: str = "pending"  # pending, approved, refused
    new_due_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    id: int | None = None


class HandlingRepository(Protocol):
    """Holder spells, co-unit sub-tasks, extension requests, import references, work lists."""

    async def holdings(self, appeal_id: int, *, open_only: bool = False) -> list[Holding]: ...
    async def add_holding(self, holding: Holding) -> Holding: ...
    async def save_holding(self, holding: Holding) -> None: ...
    async def pool(self, limit: int) -> list[Appeal]: ...
    async def held_by_unit(self, unit_id: str) -> list[tuple[Appeal, Holding]]: ...
    async def keys_for_unit(self, unit_id: str) -> list[ConversationKey]: ...
    async def extensions(self, appeal_id: int) -> list[ExtensionRequest]: ...
    async def pending_extensions(self) -> list[tuple[str, ExtensionRequest]]: ...
    async def add_extension(self, request: ExtensionRequest) -> ExtensionRequest: ...
    async def save_extension(self, request: ExtensionRequest) -> None: ...
    async def external_ref(self, source: str, ref: str) -> str | None: ...
    async def add_external_ref(self, source: str, ref: str, appeal_id: int, now: datetime) -> None: ...


@dataclass
class Rating:
    """One enterprise rating of one round; a 差评 carries its verification and rectification."""

    appeal_id: int
    round: int
    level: int
    tags: list[str]
    tag_version: str
    comment: str
    solved: str
    enterprise_id: int
    unit_id: str | None
    rated_at: datetime
    bad: bool = False
    verify_due_at: datetime | None = None
    verdict: str | None = None  # valid, invalid
    verdict_kind: str | None = None  # 误评, 恶意
    verdict_note: str | None = None
    verified_by: str | None = None
    verified_at: datetime | None = None
    rectify_unit_id: str | None = None
    rectify_due_at: datetime | None = None
    rectify_holding_id: int | None = None
    verify_reminded_at: datetime | None = None
    rectify_reminded_at: datetime | None = None
    source: str | None = None  # 电话回访 / 现场回访 (recorded by staff on a call-back); None: the enterprise itself
    id: int | None = None


@dataclass
class Callback:
    """A 回访 task: why it was chosen, with which seed, and what the call found."""

    appeal_id: int
    reason: str  # sample, bad_review, withdrawn
    seed: str
    created_at: datetime
    result: str | None = None
    satisfied: bool | None = None
    method: str | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    id: int | None = None


@dataclass
class GrassrootsRating:
    appeal_id: int
    rater_unit_id: str
    rated_unit_id: str
    level: int
    comment: str
    rated_by: str
    rated_at: datetime
    id: int | None = None


@dataclass(frozen=True)
class ThirdPartyScore:
    unit_id: str
    period: str
    source: str
    score: float
    note: str = ""


class EvaluationRepository(Protocol):
    """Ratings, call-backs, grassroots and third-party scores, repeat candidates, KPI snapshots."""

    async def ratings(self, appeal_id: int) -> list[Rating]: ...
    async def add_rating(self, rating: Rating) -> Rating: ...
    async def save_rating(self, rating: Rating) -> None: ...
    async def open_bad_reviews(self) -> list[tuple[str, Rating]]: ...
    async def claim_rating_reminder(self, rating_id: int, column: str, now: datetime) -> bool: ...
    async def callbacks(self, appeal_id: int) -> list[Callback]: ...
    async def add_callback(self, callback: Callback) -> bool: ...
    async def save_callback(self, callback: Callback) -> None: ...
    async def open_callbacks(self, limit: int) -> list[tuple[str, Callback]]: ...
    async def callback_progress(self, since: datetime) -> tuple[int, dict[str, int]]: ...
    async def callback_candidates(self, since: datetime | None) -> list[tuple[int, str, str, datetime]]: ...
    async def add_grassroots(self, rating: GrassrootsRating) -> bool: ...
    async def put_third_party(self, scores: Sequence[ThirdPartyScore], now: datetime) -> int: ...
    async def state(self, key: str) -> str | None: ...
    async def put_state_once(self, key: str, value: str) -> str: ...
    async def repeat_candidate(self, uscc: str, category: str, since: datetime, before_id: int,
                               until: datetime | None = None) -> str | None: ...
    async def snapshot(self, since: datetime | None = None, until: datetime | None = None) -> Any: ...


class SweepRepository(Protocol):
    """Scheduled work (issue 5): due-work queries for the sweeps, the "sent" ledger, digest figures."""

    async def claim(self, kind: str, subject: str, slot: str, now: datetime, *, ref_at: datetime | None = None,
                    appeal_id: int | None = None, recipients: int = 0) -> bool: ...
    async def appeals_due(self, kind: str, statuses: Sequence[str], column: str, *, before: datetime,
                          after: datetime | None = None, slot: str | None = None, after_id: int = 0,
                          limit: int = 200) -> list[Appeal]: ...
    async def unsigned_spells(self, kind: str, before: datetime, *, after_id: int = 0,
                              limit: int = 200) -> list[tuple[Appeal, Holding]]: ...
    async def units_holding(self) -> list[str]: ...
    async def count_new(self, since: datetime, until: datetime) -> int: ...
    async def count_events(self, since: datetime, until: datetime) -> list[tuple[str, str, str | None, int]]: ...
    async def open_by_unit(self, statuses: Sequence[str]) -> list[tuple[str | None, int]]: ...
    async def due_before(self, statuses: Sequence[str], before: datetime, limit: int) -> list[Appeal]: ...
    async def count_due_before(self, statuses: Sequence[str], before: datetime) -> int: ...
    async def count_status(self, statuses: Sequence[str]) -> int: ...


@dataclass(frozen=True)
class TagCorrection:
    """A dispatcher replaced `old_category` by `new_category` on an appeal; the text is kept for learning."""

    appeal_number: str
    text: str
    old_category: str | None
    new_category: str
    by_staff_id: str | None
    at: datetime


class TagCorrectionRepository(Protocol):
    async def add(self, correction: TagCorrection) -> int: ...
    async def list(self, limit: int = 10_000) -> list[TagCorrection]: ...
    async def confirmed_tags(self, limit: int = 100_000) -> list[tuple[str, str, str]]: ...
    async def closed_tags(self, limit: int = 100_000) -> list[tuple[str, str, str]]: ...
    async def open_appeals(self, limit: int = 2000) -> list[Appeal]: ...


@dataclass(frozen=True)
class ApiClient:
    """Another system with a key: what it may do (scopes), what it submits count as, how fast it may call."""

    id: str
    scopes: frozenset[str]
    entry_source: str
    rate_per_minute: int
    created_at: datetime
    revoked_at: datetime | None = None
    key_prefix: str = ""
    key_hash: str = ""


@dataclass(frozen=True)
class WebhookSubscription:
    id: int
    client_id: str
    url: str
    secret: str
    all_appeals: bool
    created_at: datetime


class ApiRepository(Protocol):
    """Client systems, their keys and webhook subscriptions; webhook deliveries go to the outbox."""

    async def add_client(self, client: ApiClient) -> None: ...
    async def client(self, client_id: str) -> ApiClient | None: ...
    async def client_by_prefix(self, prefix: str) -> ApiClient | None: ...
    async def clients(self) -> list[ApiClient]: ...
    async def revoke(self, client_id: str, now: datetime) -> bool: ...
    async def add_subscription(self, client_id: str, url: str, secret: str, all_appeals: bool,
                               now: datetime) -> WebhookSubscription: ...
    async def subscriptions(self, client_id: str) -> list[WebhookSubscription]: ...
    async def subscription(self, subscription_id: int) -> WebhookSubscription | None: ...
    async def delete_subscription(self, client_id: str, subscription_id: int, now: datetime) -> bool: ...
    async def page(self, after_id: int, limit: int, statuses: Sequence[str] = (),
                   since: datetime | None = None, until: datetime | None = None) -> list[Appeal]: ...


@dataclass
class ImprovementItem:
    """A tracked improvement item (规范 8.1/8.2): a 为企办实事 project, a 改革任务 or a 薄弱环节 follow-up."""

    kind: str  # shishi, reform, followup
    seq: int
    title: str
    source: str  # nomination, resolve_mark, threshold, weak_spot
    state: str  # candidate, reviewing, approved, rejected, assigned, done
    proposed_at: datetime
    appeal_numbers: list[str] = field(default_factory=list)
    source_key: str | None = None
    category: str | None = None
    period: str | None = None
    facts: dict[str, float] = field(default_factory=dict)  # a finding's figures (count, repeats, pct by code)
    proposed_by: str | None = None
    proposed_by_name: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    owner_unit_id: str | None = None
    deadline: datetime | None = None
    assigned_by: str | None = None
    assigned_at: datetime | None = None
    closed_at: datetime | None = None
    closing_note: str | None = None
    updated_at: datetime | None = None
    id: int | None = None


@dataclass
class ImprovementEntry:
    """One step of an item: an expert's vote (with its opinion), a progress note, or a decision."""

    item_id: int
    at: datetime
    kind: str  # nominate, mark, vote, progress, confirm, reject, assign, done
    staff_id: str | None
    staff_name: str
    text: str = ""
    vote: str | None = None  # 同意, 不同意, 意见
    id: int | None = None


class ImprovementRepository(Protocol):
    """The tracked lists: items per kind, their entries, and what the sweeps, digests and reports read."""

    async def add(self, item: ImprovementItem) -> ImprovementItem: ...
    async def save(self, item: ImprovementItem) -> None: ...
    async def get(self, kind: str, seq: int) -> ImprovementItem | None: ...
    async def by_source_key(self, kind: str, source_key: str) -> ImprovementItem | None: ...
    async def items(self, kind: str | None = None, states: Sequence[str] = ()) -> list[ImprovementItem]: ...
    async def add_entry(self, entry: ImprovementEntry) -> ImprovementEntry: ...
    async def entries(self, item_ids: Sequence[int]) -> list[ImprovementEntry]: ...
    async def entries_between(self, since: datetime, until: datetime) -> list[ImprovementEntry]: ...
    async def active_between(self, since: datetime, until: datetime) -> list[ImprovementItem]: ...
    async def due_before(self, before: datetime, limit: int) -> list[ImprovementItem]: ...


class StorageUnreachable(Exception):
    """The database could not be reached, or the connection died, so not even a refusal was stored:
    the message may be kept (bot.spool) and run again once the database is back."""


@dataclass
class TypicalCase:
    """典型服务判例: a closed appeal and the method that solved it, as it stood when it was marked."""

    appeal_id: int
    appeal_number: str
    category: str
    text: str
    units: list[str]  # unit ids, the lead unit first
    workdays: int | None
    rating: int | None
    method: str
    marked_by: str
    marked_at: datetime
    id: int | None = None


@dataclass(frozen=True)
class PublishedCase:
    """A quarter's positive or negative case a leader approved for publication."""

    period: str
    appeal_number: str
    kind: str  # positive, negative
    approved_by: str
    approved_at: datetime


class CaseRepository(Protocol):
    """The typical-case library and the published quarterly cases (issue 17 §3, §6)."""

    async def put(self, case: TypicalCase) -> TypicalCase: ...
    async def get(self, appeal_number: str) -> TypicalCase | None: ...
    async def recent(self, limit: int) -> list[TypicalCase]: ...
    async def all(self, *, since: datetime | None = None, until: datetime | None = None) -> list[TypicalCase]: ...
    async def publish(self, cases: Sequence[PublishedCase]) -> int: ...
    async def published(self, period: str) -> list[PublishedCase]: ...
    async def staff_keys(self, role: str) -> list[tuple[str, ConversationKey]]: ...


class StorageInterrupted(Exception):
    """The database connection was lost mid-transaction (a database restart, a dropped socket):
    nothing of the transaction was stored, and running it again on a new connection is safe."""


class UnitOfWork(Protocol):
    """One transaction: everything a turn changes commits together or not at all."""

    appeals: AppealRepository
    enterprises: EnterpriseRepository
    directory: DirectoryRepository
    outbox: OutboxRepository
    inbound: InboundLog
    turns: TurnStore
    bind_codes: BindCodeRepository
    callback_signatures: CallbackSignatures
    handling: HandlingRepository
    evaluation: EvaluationRepository
    sweeps: SweepRepository
    tags: TagCorrectionRepository
    api: ApiRepository
    improvement: ImprovementRepository
    cases: CaseRepository

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
