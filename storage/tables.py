"""The schema, as SQLAlchemy Core tables; Alembic migrations are written against these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

from bot.messages import MAX_USER_ID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids autoincrement on PostgreSQL; SQLite needs INTEGER PRIMARY KEY for rowid aliasing.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no offset) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts(name: str, **kw: object) -> Column:
    return Column(name, UtcDateTime(), **kw)


org_units = Table(
    "org_units", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("aliases", JSON, nullable=False, default=list),
    Column("active", Boolean, nullable=False, default=True),
)

staff = Table(
    "staff", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("unit_id", String(64), ForeignKey("org_units.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("mobile", String(20), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
)

enterprises = Table(
    "enterprises", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("contact", String(50), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("area_id", String(64), ForeignKey("org_units.id"), nullable=True),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
)

identities = Table(
    "identities", metadata,
    Column("channel", String(32), primary_key=True),
    Column("external_id", String(MAX_USER_ID), primary_key=True),
    Column("staff_id", String(64), ForeignKey("staff.id"), nullable=True),
    Column("enterprise_id", Id, ForeignKey("enterprises.id"), nullable=True),
    Column("display_name", String(100), nullable=False, default=""),
    ts("created_at", nullable=False),
)

# Who claims to speak for an enterprise (issue 14, migration 0011): one row per chat identity per
# enterprise. A claim starts unverified; a portal token, a verified member or a dispatcher verifies
# or rejects it. The claimant's own contact details live here, never on the enterprise's profile.
enterprise_members = Table(
    "enterprise_members", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("enterprise_id", Id, ForeignKey("enterprises.id"), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("external_id", String(MAX_USER_ID), nullable=False),
    Column("status", String(16), nullable=False),  # unverified, verified, rejected
    Column("contact", String(50), nullable=False, default=""),
    Column("phone", String(20), nullable=False, default=""),
    Column("method", String(16)),  # portal, member, dispatcher, migration
    ts("claimed_at", nullable=False),
    ts("prompted_at"),  # when the verified members were asked to approve it (once)
    ts("decided_at"),
    Column("decided_by", String(200)),
    Column("reason", Text),
    Index("uq_enterprise_members_member", "enterprise_id", "channel", "external_id", unique=True),
    Index("ix_enterprise_members_key", "channel", "external_id"),
    Index("ix_enterprise_members_status", "status", "id"),
)

appeal_counters = Table(
    "appeal_counters", metadata,
    Column("day", String(16), primary_key=True),
    Column("last", Integer, nullable=False),
)

appeals = Table(
    "appeals", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("enterprise_id", Id, ForeignKey("enterprises.id"), nullable=False),
    Column("enterprise_name", String(100), nullable=False),
    Column("uscc", String(18), nullable=False),
    Column("contact", String(50), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("area_id", String(64), ForeignKey("org_units.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("type", String(8), nullable=False),
    Column("category", String(32), nullable=False),
    Column("categories", JSON, nullable=False),
    Column("tag_evidence", JSON, nullable=False),
    Column("level", String(8), nullable=False),
    Column("difficulty", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attachments", JSON, nullable=False),
    ts("submitted_at", nullable=False),
    ts("promised_at"),
    ts("due_at"),
    Column("calendar_gap", Boolean, nullable=False, default=False),
    Column("lead_unit_id", String(64), ForeignKey("org_units.id"), nullable=True),
    Column("co_unit_ids", JSON, nullable=False),
    Column("handler_staff_id", String(64), ForeignKey("staff.id"), nullable=True),
    Column("outcome", String(16)),
    Column("resolution", Text),
    Column("repeat_of", String(32)),
    Column("flags", JSON, nullable=False),
    Column("filer_channel", String(32)),
    Column("filer_external_id", String(MAX_USER_ID)),
    Column("version", Integer, nullable=False, default=0),
    ts("updated_at", nullable=False),
    ts("status_since"),  # migration 0005: when the appeal entered its current status
    Index("ix_appeals_enterprise_status", "enterprise_id", "status"),
    Index("ix_appeals_status_lead", "status", "lead_unit_id"),
    Index("ix_appeals_submitted_status", "submitted_at", "status", "lead_unit_id"),
    Index("ix_appeals_status_submitted", "status", "submitted_at", "id"),  # 待分派 (migration 0008)
    Index("ix_appeals_filer", "filer_channel", "filer_external_id", "status"),  # own appeals (migration 0011)
)

appeal_events = Table(
    "appeal_events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    ts("at", nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(64)),
    Column("actor_name", String(100), nullable=False, default=""),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("data", JSON, nullable=False),
    Index("ix_appeal_events_appeal", "appeal_id", "id"),
)

conversations = Table(
    "conversations", metadata,
    Column("channel", String(32), primary_key=True),
    Column("user_id", String(MAX_USER_ID), primary_key=True),
    Column("step", String(48), nullable=False),
    Column("data", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    ts("updated_at", nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("recipient", String(MAX_USER_ID), nullable=False),
    Column("body", JSON, nullable=False),
    Column("appeal_number", String(32)),
    Column("status", String(16), nullable=False),  # pending, sent, dead
    Column("attempts", Integer, nullable=False, default=0),
    ts("next_attempt_at", nullable=False),
    ts("created_at", nullable=False),
    ts("sent_at"),
    Column("last_error", Text),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_recipient", "channel", "recipient", "id"),
)

inbound_messages = Table(
    "inbound_messages", metadata,
    Column("channel", String(32), primary_key=True),
    Column("message_id", String(191), primary_key=True),
    ts("received_at", nullable=False),
)

bind_codes = Table(
    "bind_codes", metadata,
    Column("code_hash", String(64), primary_key=True),  # bot.services.binding.code_hash; never the code
    Column("staff_id", String(64), ForeignKey("staff.id"), nullable=False),
    ts("expires_at", nullable=False),
    ts("used_at"),
    Index("ix_bind_codes_staff", "staff_id"),
)

# Where a staff member was looked up in the DingTalk / 浙政钉 org directory by mobile (issue 15 §13,
# migration 0022): found (the identity is linked), not_found (the dispatchers were told once) or error
# (tried again at next_at). One row per staff member per channel, so a lookup is done once.
staff_lookups = Table(
    "staff_lookups", metadata,
    Column("staff_id", String(64), ForeignKey("staff.id"), primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # found, not_found, error
    Column("user_id", String(MAX_USER_ID), nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    ts("tried_at", nullable=False),
    ts("next_at"),  # None: not to be tried again (found)
    Column("detail", Text),
)

# Signed callbacks whose signature covers only the timestamp (DingTalk): a pair seen with one msgId
# is refused with another until keep_until (issue 14 §3, migration 0012).
callback_signatures = Table(
    "callback_signatures", metadata,
    Column("channel", String(32), primary_key=True),
    Column("timestamp", String(16), primary_key=True),
    Column("sign", String(64), primary_key=True),
    Column("message_id", String(191), nullable=False),
    ts("keep_until", nullable=False),
    Index("ix_callback_signatures_keep", "keep_until"),
)

# ---- dispatch and handling (issue 4, migration 0004) ----

# Who held an appeal, from when to when: one row per unit per spell (lead or co), so on-time
# figures stay fair after a return, transfer or escalation moves the appeal on.
appeal_holdings = Table(
    "appeal_holdings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("unit_id", String(64), ForeignKey("org_units.id"), nullable=False),
    Column("role", String(8), nullable=False),  # lead, co
    ts("started_at", nullable=False),
    ts("signoff_due_at", nullable=False),
    ts("due_at", nullable=False),
    Column("calendar_gap", Boolean, nullable=False, default=False),
    ts("accepted_at"),
    Column("accepted_by", String(64)),
    ts("reported_at"),  # a co-unit's report to the lead unit
    Column("report", Text),
    ts("ended_at"),
    Column("end_reason", String(16)),  # resolved, returned, transferred, escalated, withdrawn, closed_by_lead
    Index("ix_appeal_holdings_appeal", "appeal_id", "id"),
    Index("ix_appeal_holdings_unit_open", "unit_id", "ended_at"),
    Index("ix_appeal_holdings_due", "due_at"),
)

extension_requests = Table(
    "extension_requests", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("unit_id", String(64), ForeignKey("org_units.id"), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("days", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, approved, refused
    ts("requested_at", nullable=False),
    ts("old_due_at", nullable=False),
    ts("new_due_at"),
    Column("decided_by", String(64)),
    ts("decided_at"),
    Column("decision_note", Text),
    Index("ix_extension_requests_appeal", "appeal_id", "status"),
)

# Idempotent imports: a hotline work-order number maps to the appeal it became, once.
external_refs = Table(
    "external_refs", metadata,
    Column("source", String(32), primary_key=True),
    Column("ref", String(64), primary_key=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    ts("imported_at", nullable=False),
)

# ---- evaluation and improvement (issue 6, migration 0006) ----

# One enterprise rating per appeal per round (round 2 follows a rectified 差评). A 差评 carries
# its verification (核实) and, when valid, its rectification (整改) on the same row.
ratings = Table(
    "ratings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("level", Integer, nullable=False),  # 5 非常满意 … 1 非常不满意
    Column("tags", JSON, nullable=False),
    Column("tag_version", String(32), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("solved", String(8), nullable=False),  # 已解决, 部分解决, 未解决
    Column("enterprise_id", Id, ForeignKey("enterprises.id"), nullable=False),
    Column("unit_id", String(64), ForeignKey("org_units.id")),  # the lead unit rated
    ts("rated_at", nullable=False),
    Column("bad", Boolean, nullable=False, default=False),
    ts("verify_due_at"),
    Column("verdict", String(8)),  # valid, invalid
    Column("verdict_kind", String(8)),  # 误评, 恶意 (invalid only)
    Column("verdict_note", Text),
    Column("verified_by", String(64)),
    ts("verified_at"),
    Column("rectify_unit_id", String(64), ForeignKey("org_units.id")),
    ts("rectify_due_at"),
    Column("rectify_holding_id", Id, ForeignKey("appeal_holdings.id")),
    ts("verify_reminded_at"),  # claim-once marks of the overdue sweeps
    ts("rectify_reminded_at"),
    Column("source", String(16)),  # 电话回访 / 现场回访 when staff recorded it on a call-back; NULL: the enterprise
    Index("uq_ratings_appeal_round", "appeal_id", "round", unique=True),
    Index("ix_ratings_verdict", "bad", "verdict"),
    Index("ix_ratings_rated", "rated_at"),
)

# 回访 tasks: sampled closures, every 差评 and every withdrawal; the seed makes the sample reproducible.
callbacks = Table(
    "callbacks", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("reason", String(16), nullable=False),  # sample, bad_review, withdrawn
    Column("seed", String(64), nullable=False),
    ts("created_at", nullable=False),
    Column("result", Text),
    Column("satisfied", Boolean),
    Column("method", String(8)),  # 电话, 现场
    Column("done_by", String(64)),
    ts("done_at"),
    Index("uq_callbacks_appeal_reason", "appeal_id", "reason", unique=True),
    Index("ix_callbacks_done", "done_at"),
)

# 基层评价: a township (or any unit) rates the upper-level service on an appeal it escalated.
grassroots_ratings = Table(
    "grassroots_ratings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("rater_unit_id", String(64), ForeignKey("org_units.id"), nullable=False),
    Column("rated_unit_id", String(64), ForeignKey("org_units.id"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("rated_by", String(64), nullable=False),
    ts("rated_at", nullable=False),
    Index("uq_grassroots_ratings_appeal_rater", "appeal_id", "rater_unit_id", unique=True),
)

# 第三方评价: scores (0–100) imported per unit and period from CSV; a re-import replaces.
third_party_scores = Table(
    "third_party_scores", metadata,
    Column("unit_id", String(64), ForeignKey("org_units.id"), primary_key=True),
    Column("period", String(16), primary_key=True),  # 2026Q4, 2026-11, 2026W48
    Column("source", String(64), primary_key=True),
    Column("score", Float, nullable=False),
    Column("note", Text, nullable=False, default=""),
    ts("imported_at", nullable=False),
)

# Small stored facts of the evaluation loop, e.g. the call-back sampling seed.
evaluation_state = Table(
    "evaluation_state", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# ---- scheduled work (issue 5, migration 0005) ----

# Sweeps find due work through these: a status prefix, then the clock column (never due_at alone,
# performance.md: almost every stored row is past due, so due_at alone is slower than no index).
Index("ix_appeals_status_due", appeals.c.status, appeals.c.due_at)
Index("ix_appeals_status_since", appeals.c.status, appeals.c.status_since)
# Open, not yet signed-off holder spells: a small partial index, ordered by the sign-off deadline.
Index("ix_appeal_holdings_unsigned", appeal_holdings.c.signoff_due_at,
      sqlite_where=appeal_holdings.c.ended_at.is_(None) & appeal_holdings.c.accepted_at.is_(None),
      postgresql_where=appeal_holdings.c.ended_at.is_(None) & appeal_holdings.c.accepted_at.is_(None))
# Digests count a period's events by action.
Index("ix_appeal_events_at_action", appeal_events.c.at, appeal_events.c.action, appeal_events.c.to_status)

# The "sent" ledger: one row per reminder / digest occurrence. Its primary key is the claim: of two
# schedulers racing for one occurrence exactly one INSERT succeeds, in the transaction that also
# writes the outbox rows, so a rolled-back sweep sends nothing and a committed one never repeats.
scheduled_sends = Table(
    "scheduled_sends", metadata,
    Column("kind", String(32), primary_key=True),  # e.g. overdue, signoff, digest_leader
    Column("subject", String(64), primary_key=True),  # appeal number, holding id, unit id, role
    Column("slot", String(40), primary_key=True),  # which occurrence: a local date, a deadline, "once"
    ts("ref_at"),  # the clock this occurrence belongs to (due_at, status_since), for anti-joins
    Column("appeal_id", Id, nullable=True),
    Column("recipients", Integer, nullable=False, default=0),
    ts("sent_at", nullable=False),
)

# A dispatcher's change of a suggested or filed tag, with the text it was about: learning data
# for `qihu tags learn --from-pool` (migration 0007).
tag_corrections = Table(
    "tag_corrections", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_number", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("old_category", String(32)),
    Column("new_category", String(32), nullable=False),
    Column("by_staff_id", String(64)),
    ts("at", nullable=False),
    Index("ix_tag_corrections_appeal", "appeal_number", "id"),
)

# ---- other systems (issue 16, migration 0016) ----

# One row per client system (a 12345 hotline, 企呼我应, 基层治理四平台 …). The key is shown once and
# kept only as its SHA-256: it is 32 random bytes, so no slow hash is needed against guessing.
api_clients = Table(
    "api_clients", metadata,
    Column("id", String(24), primary_key=True),  # the name given to `qihu api-client add`
    Column("key_prefix", String(16), nullable=False, unique=True),  # finds the row; not secret
    Column("key_hash", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),  # submit, read, read_personal, rate, callbacks
    Column("entry_source", String(32), nullable=False),  # e.g. 12345热线: the source of what it submits
    Column("rate_per_minute", Integer, nullable=False),
    ts("created_at", nullable=False),
    ts("revoked_at"),
)

# A client's webhook: state changes of its appeals (or of all, with all_appeals) are POSTed to url,
# signed with secret (HMAC-SHA256), through the outbox.
webhook_subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("client_id", String(24), ForeignKey("api_clients.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", String(128), nullable=False),  # kept as given: signing needs it
    Column("all_appeals", Boolean, nullable=False, default=False),
    ts("created_at", nullable=False),
    ts("deleted_at"),
    Index("ix_webhook_subscriptions_client", "client_id", "deleted_at"),
)

# ---- tracked improvement items (issue 17 §4–§6, migration 0021) ----

# One model for the three tracked lists of 规范 8.1/8.2: 为企办实事 (kind shishi), 改革任务 (reform) and
# 薄弱环节跟进 (followup). `seq` numbers the items of one kind (实事 3, 改革 1); `source_key` makes a
# collected candidate (a threshold finding of one period and category) exist once.
improvement_items = Table(
    "improvement_items", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # shishi, reform, followup
    Column("seq", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("source", String(16), nullable=False),  # nomination, resolve_mark, threshold, weak_spot
    Column("source_key", String(120)),
    Column("appeal_numbers", JSON, nullable=False),
    Column("category", String(32)),
    Column("period", String(16)),  # the report period a finding came from
    Column("facts", JSON, nullable=False),  # a finding's figures: {"count": 7, "repeats": 2}, {"satisfaction": 70.0}
    Column("state", String(16), nullable=False),  # candidate, reviewing, approved, rejected, assigned, done
    Column("proposed_by", String(64)),
    Column("proposed_by_name", String(100), nullable=False, default=""),
    ts("proposed_at", nullable=False),
    Column("decided_by", String(64)),
    ts("decided_at"),
    Column("decision_note", Text),
    Column("owner_unit_id", String(64), ForeignKey("org_units.id")),
    ts("deadline"),
    Column("assigned_by", String(64)),
    ts("assigned_at"),
    ts("closed_at"),
    Column("closing_note", Text),
    ts("updated_at", nullable=False),
    Index("uq_improvement_items_kind_seq", "kind", "seq", unique=True),
    Index("uq_improvement_items_kind_source_key", "kind", "source_key", unique=True),
    Index("ix_improvement_items_state_deadline", "state", "deadline"),
)

# What happened to an item, in order: expert votes (同意 / 不同意 / 意见, each a 专家评审 record with its
# opinion), progress notes, and the decisions (确认, 否决, 交办, 完成).
improvement_entries = Table(
    "improvement_entries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", Id, ForeignKey("improvement_items.id"), nullable=False),
    ts("at", nullable=False),
    Column("kind", String(16), nullable=False),  # nominate, mark, vote, progress, confirm, reject, assign, done
    Column("staff_id", String(64)),
    Column("staff_name", String(100), nullable=False, default=""),
    Column("vote", String(8)),  # 同意, 不同意, 意见 (kind vote only)
    Column("text", Text, nullable=False, default=""),
    Index("ix_improvement_entries_item", "item_id", "id"),
    Index("ix_improvement_entries_at", "at"),
)

# ---- the improvement loop: typical cases and published quarterly cases (issue 17 §3 §6, migration 0020) ----

# 典型服务判例: a closed appeal a dispatcher or leader marked with its method. What it was about
# (text, category, units, working days taken, rating) is copied at marking, so the case reads the
# same after the appeal is anonymised, reclassified or rated again.
typical_cases = Table(
    "typical_cases", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("appeal_number", String(32), nullable=False),
    Column("category", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("units", JSON, nullable=False),  # unit ids, the lead unit first
    Column("workdays", Integer),  # working days from submission to 办结
    Column("rating", Integer),  # the enterprise's valid rating (5 … 1), None: not rated
    Column("method", Text, nullable=False),  # 做法: how it was solved, in the marker's words
    Column("marked_by", String(64), nullable=False),
    ts("marked_at", nullable=False),
    Index("uq_typical_cases_appeal", "appeal_id", unique=True),
    Index("ix_typical_cases_marked", "marked_at"),
)

# A quarter's positive or negative case a leader approved for publication (通报曝光), with who and when.
published_cases = Table(
    "published_cases", metadata,
    Column("period", String(16), primary_key=True),  # 2026Q4
    Column("appeal_number", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),  # positive, negative
    Column("approved_by", String(64), nullable=False),
    ts("approved_at", nullable=False),
)
