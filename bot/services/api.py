"""Other systems: client keys and scopes, submitting and rating appeals, webhook subscriptions."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.appeal import Actor, Appeal, AppealType, Source
from bot.domain.errors import DomainError, Forbidden, InvalidInput
from bot.messages import ConversationKey
from bot.services import evaluation
from bot.services.access import load_appeal
from bot.services.appeals import FilingDraft, submit_appeal
from bot.services.ports import ApiClient, Identity, UnitOfWork, WebhookSubscription
from bot.services.runtime import Runtime
from bot.services.units import match_unit

SCOPES = ("submit", "read", "read_personal", "rate", "callbacks")
CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
EXTERNAL_ID = re.compile(r"^[\x21-\x7e]{1,60}$")  # printable ASCII: it is a key into external_refs
KEY_PREFIX = "qh_"


class Unauthorized(DomainError):
    """No key, an unknown key or a revoked one."""

    code = "api_key_invalid"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)  # the secret part may hold "_" itself
    if len(parts) != 3 or f"{parts[0]}_" != KEY_PREFIX or len(parts[1]) != 8 or not parts[2]:
        return None
    return parts[1], parts[2]


async def add_client(uow: UnitOfWork, rt: Runtime, client_id: str, scopes: Sequence[str], entry_source: str,
                     rate_per_minute: int, known_sources: Sequence[str]) -> tuple[ApiClient, str]:
    """A new client system and its key; the key is returned once and only its hash is stored."""
    if not CLIENT_ID.match(client_id):
        raise InvalidInput("api_client_id", value=client_id)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput("api_scope", value=",".join(unknown), known=",".join(SCOPES))
    if entry_source not in known_sources:
        raise InvalidInput("api_entry_source", value=entry_source, known="、".join(known_sources))
    if rate_per_minute < 1:
        raise InvalidInput("api_rate")
    if await uow.api.client(client_id) is not None:
        raise InvalidInput("api_client_exists", value=client_id)
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    key = f"{KEY_PREFIX}{prefix}_{secret}"
    client = ApiClient(client_id, frozenset(scopes), entry_source, rate_per_minute, rt.now(), None, prefix,
                       hash_key(key))
    await uow.api.add_client(client)
    return client, key


async def authenticate(uow: UnitOfWork, key: str) -> ApiClient:
    """The client whose key this is; Unauthorized for anything else, revoked keys included."""
    parts = _split(key.strip())
    client = await uow.api.client_by_prefix(parts[0]) if parts else None
    if client is None or client.revoked_at is not None or not hmac.compare_digest(
            client.key_hash, hash_key(key.strip())):
        raise Unauthorized()
    return client


def require_scope(client: ApiClient, scope: str) -> None:
    if scope not in client.scopes:
        raise Forbidden("api_scope_missing", scope=scope)


@dataclass
class Submission:
    """What a client system sends to open an appeal (Open311 or /api/v1 map onto this)."""

    company: str
    uscc: str
    contact: str
    phone: str
    area: str  # a township's name, alias or id, or an address that names it
    text: str
    category: str = ""  # empty: suggested from the text
    type: str = "求助"
    external_id: str = ""  # the client's own ticket number: submitting it again returns the same appeal
    entry_source: str = ""  # empty: the client's own


TYPES = {t.value: t for t in AppealType}


def external_source(client: ApiClient) -> str:
    return f"api:{client.id}"


async def submit(uow: UnitOfWork, rt: Runtime, client: ApiClient, s: Submission,
                 known_sources: Sequence[str]) -> tuple[Appeal, bool]:
    """(appeal, created): a new 待受理 appeal, or the one this external id already made (nothing is
    stored twice). Raises InvalidInput with the field at fault before anything is stored."""
    require_scope(client, "submit")
    if s.external_id:
        if not EXTERNAL_ID.match(s.external_id):
            raise InvalidInput("api_external_id")
        existing = await uow.handling.external_ref(external_source(client), s.external_id)
        if existing is not None:
            appeal = await uow.appeals.get(existing)
            assert appeal is not None
            return appeal, False
    source = s.entry_source or client.entry_source
    if source not in known_sources:
        raise InvalidInput("api_entry_source", value=source, known="、".join(known_sources))
    if s.type not in TYPES:
        raise InvalidInput("api_type", value=s.type, known="、".join(TYPES))
    townships = [u for u in await uow.directory.units() if u.kind == "township"]
    try:
        area = match_unit(townships, s.area)
    except DomainError:
        raise InvalidInput("api_area", value=s.area) from None
    category = s.category.strip()
    evidence: list[str] = []
    if category and category not in rt.tagger.categories:
        raise InvalidInput("api_category", value=category)
    if not category:
        suggestions = rt.tagger.suggest(s.text, top=1) if rt.tagger.tokenizer.ready else []
        category = suggestions[0].label if suggestions else "其他"
        evidence = list(suggestions[0].evidence) if suggestions else []
    draft = FilingDraft(company=s.company, uscc=s.uscc, contact=s.contact, phone=s.phone, area_id=area.id,
                        text=s.text, categories=[category], type=TYPES[s.type], tag_evidence={category: evidence})
    identity = Identity(key=ConversationKey("api", client.id))
    appeal = await submit_appeal(uow, rt, identity, draft, Source.API, actor=Actor("system", client.id, source),
                                 record_filer=False, note=s.external_id, flags=_flags(client, s, source))
    if s.external_id:
        await uow.handling.add_external_ref(external_source(client), s.external_id, appeal.id, rt.now())
    return appeal, True


def _flags(client: ApiClient, s: Submission, source: str) -> dict[str, str]:
    flags = {"api_client": client.id, "entry_source": source}
    if s.external_id:
        flags["external_id"] = s.external_id
    return flags


async def rate(uow: UnitOfWork, rt: Runtime, client: ApiClient, number: str, level: int, solved: str,
               comment: str, tags: Sequence[str] = ()) -> evaluation.Rated:
    """A rating the client collected from the enterprise (a hotline's return call), stored as the
    enterprise's own: same rounds, same 差评 verification."""
    require_scope(client, "rate")
    appeal = await load_appeal(uow, number)
    return await evaluation.rate_for_enterprise(uow, rt, appeal, level, list(tags), comment, solved,
                                                actor=Actor("system", client.id, client.entry_source))


async def appeal_for(uow: UnitOfWork, client: ApiClient, number: str) -> Appeal:
    require_scope(client, "read")
    return await load_appeal(uow, number.strip())


async def subscribe(uow: UnitOfWork, rt: Runtime, client: ApiClient, url: str, secret: str,
                    all_appeals: bool) -> WebhookSubscription:
    """Deliveries of the client's own appeals' events (or of every appeal's, with all_appeals and the
    read scope, which every subscription needs) to url, signed with secret."""
    require_scope(client, "read")
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", url) or len(url) > 2000:
        raise InvalidInput("webhook_url")
    if not 16 <= len(secret) <= 128:
        raise InvalidInput("webhook_secret")
    return await uow.api.add_subscription(client.id, url, secret, all_appeals, rt.now())


def sees_personal(client: ApiClient) -> bool:
    return "read_personal" in client.scopes


def parse_time(raw: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("api_datetime", field=field, value=raw) from None
    if value.tzinfo is None:
        raise InvalidInput("api_datetime", field=field, value=raw)
    return value
