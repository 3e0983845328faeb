"""SQL repository for evaluation: ratings, call-backs, grassroots and third-party scores, KPI snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.appeal import Action, Status
from bot.services.kpi import AppealFact, Snapshot, SpellFact
from bot.services.ports import Callback, GrassrootsRating, OrgUnit, Rating, ThirdPartyScore
from storage import tables as t
from storage.repositories import _upsert


class SqlEvaluationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ---- ratings ----
    @staticmethod
    def _rating(r: Any) -> Rating:
        return Rating(**{c.name: getattr(r, c.name) for c in t.ratings.c if c.name in Rating.__dataclass_fields__})

    async def ratings(self, appeal_id: int) -> list[Rating]:
        c = t.ratings.c
        rows = (await self.conn.execute(select(t.ratings).where(c.appeal_id == appeal_id).order_by(c.round))).all()
        return [self._rating(r) for r in rows]

    async def add_rating(self, rating: Rating) -> Rating:
        values = {k: v for k, v in asdict(rating).items() if k != "id"}
        rating.id = (await self.conn.execute(insert(t.ratings).returning(t.ratings.c.id), values)).scalar_one()
        return rating

    async def save_rating(self, rating: Rating) -> None:
        values = {k: v for k, v in asdict(rating).items() if k != "id"}
        await self.conn.execute(update(t.ratings).where(t.ratings.c.id == rating.id).values(values))

    async def open_bad_reviews(self) -> list[tuple[str, Rating]]:
        """(appeal number, rating) of 差评 awaiting verification or in rectification, oldest first."""
        c, a = t.ratings.c, t.appeals.c
        stmt = (select(t.ratings, a.number.label("appeal_number")).join(t.appeals, a.id == c.appeal_id)
                .where(c.bad.is_(True), a.status.in_([Status.VERIFYING.value, Status.RECTIFYING.value]))
                .order_by(c.rated_at, c.id))
        return [(r.appeal_number, self._rating(r)) for r in (await self.conn.execute(stmt)).all()]

    async def claim_rating_reminder(self, rating_id: int, column: str, now: datetime) -> bool:
        """Mark a reminder as sent exactly once: of two sweeps racing, one gets True."""
        col = getattr(t.ratings.c, column)
        result = await self.conn.execute(update(t.ratings).where(t.ratings.c.id == rating_id, col.is_(None))
                                         .values({column: now}))
        return result.rowcount == 1

    # ---- call-backs ----
    @staticmethod
    def _callback(r: Any) -> Callback:
        return Callback(**{c.name: getattr(r, c.name) for c in t.callbacks.c})

    async def callbacks(self, appeal_id: int) -> list[Callback]:
        c = t.callbacks.c
        rows = (await self.conn.execute(select(t.callbacks).where(c.appeal_id == appeal_id).order_by(c.id))).all()
        return [self._callback(r) for r in rows]

    async def add_callback(self, callback: Callback) -> bool:
        """Add a task unless one for this appeal and reason exists; True when added."""
        values = {k: v for k, v in asdict(callback).items() if k != "id"}
        stmt = _upsert(self.conn, t.callbacks).values(values).on_conflict_do_nothing()
        return (await self.conn.execute(stmt)).rowcount == 1

    async def save_callback(self, callback: Callback) -> None:
        values = {k: v for k, v in asdict(callback).items() if k != "id"}
        await self.conn.execute(update(t.callbacks).where(t.callbacks.c.id == callback.id).values(values))

    async def open_callbacks(self, limit: int) -> list[tuple[str, Callback]]:
        c, a = t.callbacks.c, t.appeals.c
        stmt = (select(t.callbacks, a.number.label("appeal_number")).join(t.appeals, a.id == c.appeal_id)
                .where(c.done_at.is_(None)).order_by(c.created_at, c.id).limit(limit))
        return [(r.appeal_number, self._callback(r)) for r in (await self.conn.execute(stmt)).all()]

    async def callback_progress(self, since: datetime) -> tuple[int, dict[str, int]]:
        """Call-back tasks created since `since`: how many, and how many of them were done by each method."""
        c = t.callbacks.c
        total = (await self.conn.execute(select(func.count()).select_from(t.callbacks)
                                         .where(c.created_at >= since))).scalar_one()
        stmt = (select(c.method, func.count()).where(c.created_at >= since, c.done_at.is_not(None))
                .group_by(c.method))
        done: dict[str, int] = {}
        for method, n in (await self.conn.execute(stmt)).all():
            done[method or "电话"] = done.get(method or "电话", 0) + n  # before methods were stored: 电话
        return total, done

    async def callback_candidates(self, since: datetime | None) -> list[tuple[int, str, str, datetime]]:
        """(appeal id, number, kind, at) of closures, 差评 and withdrawals since `since` (all when None)."""
        e, a = t.appeal_events.c, t.appeals.c
        kind = {Action.RATE_GOOD.value: "closed", Action.RATING_EXPIRED.value: "closed",
                Action.VERIFY_INVALID.value: "closed", Action.RATE_BAD.value: "bad_review",
                Action.WITHDRAW.value: "withdrawn"}
        stmt = (select(e.appeal_id, a.number, e.action, e.at).join(t.appeals, a.id == e.appeal_id)
                .where(e.action.in_(list(kind))).order_by(e.id))
        if since is not None:
            stmt = stmt.where(e.at >= since)
        return [(r.appeal_id, r.number, kind[r.action], r.at) for r in (await self.conn.execute(stmt)).all()]

    # ---- other evaluations ----
    async def add_grassroots(self, rating: GrassrootsRating) -> bool:
        values = {k: v for k, v in asdict(rating).items() if k != "id"}
        stmt = _upsert(self.conn, t.grassroots_ratings).values(values).on_conflict_do_nothing()
        return (await self.conn.execute(stmt)).rowcount == 1

    async def put_third_party(self, scores: Sequence[ThirdPartyScore], now: datetime) -> int:
        for s in scores:
            values = {"score": s.score, "note": s.note, "imported_at": now}
            stmt = _upsert(self.conn, t.third_party_scores).values(
                unit_id=s.unit_id, period=s.period, source=s.source, **values)
            await self.conn.execute(stmt.on_conflict_do_update(
                index_elements=[t.third_party_scores.c.unit_id, t.third_party_scores.c.period,
                                t.third_party_scores.c.source], set_=values))
        return len(scores)

    async def state(self, key: str) -> str | None:
        c = t.evaluation_state.c
        return (await self.conn.execute(select(c.value).where(c.key == key))).scalar_one_or_none()

    async def put_state_once(self, key: str, value: str) -> str:
        """Store `value` unless the key exists; return what is stored (first writer wins)."""
        await self.conn.execute(_upsert(self.conn, t.evaluation_state).values(key=key, value=value)
                                .on_conflict_do_nothing())
        stored = await self.state(key)
        assert stored is not None
        return stored

    async def repeat_candidate(self, uscc: str, category: str, since: datetime, before_id: int,
                               until: datetime | None = None) -> str | None:
        """The latest earlier appeal of this USCC and category closed or resolved since `since`."""
        a, e = t.appeals.c, t.appeal_events.c
        closing = [Status.RESOLVED.value, Status.CLOSED.value]
        stmt = (select(a.number).join(t.appeal_events, e.appeal_id == a.id)
                .where(a.uscc == uscc, a.category == category, a.id != before_id, e.to_status.in_(closing),
                       e.from_status != e.to_status, e.at >= since)
                .order_by(e.at.desc(), a.id.desc()).limit(1))
        if until is not None:
            stmt = stmt.where(e.at <= until)
        return (await self.conn.execute(stmt)).scalar_one_or_none()

    # ---- KPI snapshot ----
    async def snapshot(self, since: datetime | None = None, until: datetime | None = None) -> Snapshot:
        """Every fact the KPIs are computed from, as plain values (one read, one transaction).

        With `since` and `until` (a report period) only the appeals with something in [since, until)
        are read: an event (filing, resolving, closing, …), a lead spell due, a rating or a call-back, or
        filed then. Every cohort of kpi.compute is one of these, so the figures are the same as from
        every appeal ever stored, which at 1M appeals took most of a minute (docs/benchmarks.md)."""
        e, a, h = t.appeal_events.c, t.appeals.c, t.appeal_holdings.c
        scope = None
        if since is not None and until is not None:
            cb, g = t.callbacks.c, t.grassroots_ratings.c
            scope = union(
                select(e.appeal_id).where(e.at >= since, e.at < until),
                select(h.appeal_id).where(h.due_at >= since, h.due_at < until),
                select(t.ratings.c.appeal_id).where(t.ratings.c.rated_at >= since, t.ratings.c.rated_at < until),
                select(cb.appeal_id).where(or_(and_(cb.done_at >= since, cb.done_at < until),
                                               and_(cb.created_at >= since, cb.created_at < until))),
                select(g.appeal_id).where(g.rated_at >= since, g.rated_at < until),
                select(a.id).where(a.submitted_at >= since, a.submitted_at < until),
            ).subquery()

        def scoped(stmt: Any, column: Any) -> Any:
            return stmt if scope is None else stmt.where(column.in_(select(scope.c[0])))

        firsts: dict[tuple[int, str], datetime] = {}
        stmt = (select(e.appeal_id, e.action, func.min(e.at).label("at"))
                .where(e.action.in_([Action.RESOLVE.value, Action.WITHDRAW.value, Action.RATING_EXPIRED.value]))
                .group_by(e.appeal_id, e.action))
        for r in (await self.conn.execute(scoped(stmt, e.appeal_id))).all():
            firsts[(r.appeal_id, r.action)] = r.at
        closed = {r.appeal_id: r.at for r in (await self.conn.execute(scoped(
            select(e.appeal_id, func.min(e.at).label("at"))
            .where(and_(e.to_status == Status.CLOSED.value, e.from_status != Status.CLOSED.value))
            .group_by(e.appeal_id), e.appeal_id))).all()}
        appeals = []
        for r in (await self.conn.execute(scoped(select(t.appeals), a.id).order_by(a.id))).all():
            flags = dict(r.flags)
            appeals.append(AppealFact(
                id=r.id, number=r.number, uscc=r.uscc, enterprise_name=r.enterprise_name, category=r.category,
                level=r.level, type=r.type, source=flags.get("entry_source") or r.source, status=r.status,
                area_id=r.area_id,
                lead_unit_id=r.lead_unit_id, submitted_at=r.submitted_at,
                resolved_at=firsts.get((r.id, Action.RESOLVE.value)),
                withdrawn_at=firsts.get((r.id, Action.WITHDRAW.value)),
                expired_at=firsts.get((r.id, Action.RATING_EXPIRED.value)), closed_at=closed.get(r.id),
                repeat_of=r.repeat_of, repeat_state=str(flags.get("repeat", "")), outcome=r.outcome,
                text=r.text, resolution=r.resolution or "", flags=flags))
        spells = [SpellFact(r.id, r.appeal_id, r.unit_id, r.role, r.started_at, r.due_at, r.ended_at, r.end_reason)
                  for r in (await self.conn.execute(scoped(select(t.appeal_holdings), h.appeal_id)
                                                    .order_by(h.id))).all()]
        ratings = [self._rating(r) for r in (await self.conn.execute(
            scoped(select(t.ratings), t.ratings.c.appeal_id).order_by(t.ratings.c.appeal_id, t.ratings.c.round)))
            .all()]
        callbacks = [self._callback(r) for r in (await self.conn.execute(
            scoped(select(t.callbacks), t.callbacks.c.appeal_id).order_by(t.callbacks.c.id))).all()]
        grassroots = [GrassrootsRating(**{c.name: getattr(r, c.name) for c in t.grassroots_ratings.c})
                      for r in (await self.conn.execute(
                          scoped(select(t.grassroots_ratings), t.grassroots_ratings.c.appeal_id))).all()]
        third = [ThirdPartyScore(r.unit_id, r.period, r.source, r.score, r.note)
                 for r in (await self.conn.execute(select(t.third_party_scores))).all()]
        units = [OrgUnit(r.id, r.name, r.kind, tuple(r.aliases))
                 for r in (await self.conn.execute(select(t.org_units).order_by(t.org_units.c.id))).all()]
        return Snapshot(appeals, spells, ratings, callbacks, grassroots, third, units)
