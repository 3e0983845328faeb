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


@dataclass
class Enterprise:
    id: int | None
    uscc: str
    name: str
    contact: str
    phone: str
    area_id: str | None = None


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
    """Who a conversation key belongs to: a staff member, an enterprise, or nobody yet."""

    key: ConversationKey
    staff: Staff | None = None
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
    async def list_for_enterprise(self, enterprise_id: int, *, open_only: bool) -> list[Appeal]: ...
    async def events(self, number: str) -> list[AppealEvent]: ...
    async def count(self) -> int: ...


class EnterpriseRepository(Protocol):
    async def get(self, enterprise_id: int) -> Enterprise | None: ...
    async def get_by_uscc(self, uscc: str) -> Enterprise | None: ...
    async def upsert(self, enterprise: Enterprise) -> Enterprise: ...


class DirectoryRepository(Protocol):
    async def units(self) -> list[OrgUnit]: ...
    async def staff(self, staff_id: str) -> Staff | None: ...
    async def identity(self, key: ConversationKey) -> Identity: ...
    async def link_enterprise(self, key: ConversationKey, enterprise_id: int) -> None: ...
    async def link_staff(self, key: ConversationKey, staff_id: str) -> None: ...
    async def keys_for_role(self, role: str) -> list[ConversationKey]: ...
    async def replace_org(self, units: Sequence[OrgUnit], staff: Sequence[Staff]) -> None: ...


class ConversationRepository(Protocol):
    async def lock_and_load(self, key: ConversationKey) -> ConversationState: ...
    async def save(self, key: ConversationKey, state: ConversationState) -> None: ...


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


class OutboxRepository(Protocol):
    async def add(self, messages: Sequence[OutboundMessage], now: datetime) -> list[int]: ...
    async def pending(self, channels: Sequence[str], limit: int) -> list[OutboxRow]: ...
    async def claim(self, outbox_id: int, now: datetime, lease_until: datetime) -> bool: ...
    async def mark_sent(self, outbox_id: int, now: datetime) -> None: ...
    async def mark_failed(self, outbox_id: int, *, attempts: int, next_attempt_at: datetime,
                          error: str, dead: bool) -> None: ...
    async def for_recipient(self, channel: str, recipient: str, after_id: int, limit: int) -> list[OutboxRow]: ...
    async def get(self, outbox_id: int) -> OutboxRow | None: ...


class InboundLog(Protocol):
    async def claim(self, channel: str, message_id: str, now: datetime) -> bool: ...


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
    async def open_appeals(self, limit: int = 2000) -> list[Appeal]: ...


class UnitOfWork(Protocol):
    """One transaction: everything a turn changes commits together or not at all."""

    appeals: AppealRepository
    enterprises: EnterpriseRepository
    directory: DirectoryRepository
    conversations: ConversationRepository
    outbox: OutboxRepository
    inbound: InboundLog
    tags: TagCorrectionRepository

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
