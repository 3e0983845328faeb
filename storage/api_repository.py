"""Client systems, their keys and webhook subscriptions, and the cursor pages of appeals they read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.appeal import Appeal
from bot.services.ports import ApiClient, WebhookSubscription
from storage import tables as t
from storage.repositories import SqlAppealRepository


class SqlApiRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @staticmethod
    def _client(r: Any) -> ApiClient:
        return ApiClient(r.id, frozenset(r.scopes), r.entry_source, r.rate_per_minute, r.created_at, r.revoked_at,
                         r.key_prefix, r.key_hash)

    async def add_client(self, client: ApiClient) -> None:
        await self.conn.execute(insert(t.api_clients).values(
            id=client.id, key_prefix=client.key_prefix, key_hash=client.key_hash, scopes=sorted(client.scopes),
            entry_source=client.entry_source, rate_per_minute=client.rate_per_minute,
            created_at=client.created_at, revoked_at=None))

    async def client(self, client_id: str) -> ApiClient | None:
        r = (await self.conn.execute(select(t.api_clients).where(t.api_clients.c.id == client_id))).first()
        return self._client(r) if r else None

    async def client_by_prefix(self, prefix: str) -> ApiClient | None:
        r = (await self.conn.execute(select(t.api_clients).where(t.api_clients.c.key_prefix == prefix))).first()
        return self._client(r) if r else None

    async def clients(self) -> list[ApiClient]:
        rows = (await self.conn.execute(select(t.api_clients).order_by(t.api_clients.c.id))).all()
        return [self._client(r) for r in rows]

    async def revoke(self, client_id: str, now: datetime) -> bool:
        c = t.api_clients.c
        result = await self.conn.execute(update(t.api_clients).where(c.id == client_id, c.revoked_at.is_(None))
                                         .values(revoked_at=now))
        return result.rowcount == 1

    @staticmethod
    def _subscription(r: Any) -> WebhookSubscription:
        return WebhookSubscription(r.id, r.client_id, r.url, r.secret, r.all_appeals, r.created_at)

    async def add_subscription(self, client_id: str, url: str, secret: str, all_appeals: bool,
                               now: datetime) -> WebhookSubscription:
        stmt = insert(t.webhook_subscriptions).returning(t.webhook_subscriptions.c.id)
        new_id = (await self.conn.execute(stmt, {"client_id": client_id, "url": url, "secret": secret,
                                                  "all_appeals": all_appeals, "created_at": now})).scalar_one()
        return WebhookSubscription(new_id, client_id, url, secret, all_appeals, now)

    async def subscriptions(self, client_id: str) -> list[WebhookSubscription]:
        c = t.webhook_subscriptions.c
        stmt = select(t.webhook_subscriptions).where(c.client_id == client_id, c.deleted_at.is_(None)).order_by(c.id)
        return [self._subscription(r) for r in (await self.conn.execute(stmt)).all()]

    async def subscription(self, subscription_id: int) -> WebhookSubscription | None:
        c = t.webhook_subscriptions.c
        stmt = select(t.webhook_subscriptions).where(c.id == subscription_id, c.deleted_at.is_(None))
        r = (await self.conn.execute(stmt)).first()
        return self._subscription(r) if r else None

    async def delete_subscription(self, client_id: str, subscription_id: int, now: datetime) -> bool:
        c = t.webhook_subscriptions.c
        result = await self.conn.execute(update(t.webhook_subscriptions).where(
            c.id == subscription_id, c.client_id == client_id, c.deleted_at.is_(None)).values(deleted_at=now))
        return result.rowcount == 1

    async def page(self, after_id: int, limit: int, statuses: Sequence[str] = (),
                   since: datetime | None = None, until: datetime | None = None) -> list[Appeal]:
        """Appeals in id order after a cursor: stable while new ones arrive at the end."""
        c = t.appeals.c
        stmt = select(t.appeals).where(c.id > after_id)
        if statuses:
            stmt = stmt.where(c.status.in_(list(statuses)))
        if since is not None:
            stmt = stmt.where(c.submitted_at >= since)
        if until is not None:
            stmt = stmt.where(c.submitted_at <= until)
        rows = (await self.conn.execute(stmt.order_by(c.id).limit(limit))).all()
        return [SqlAppealRepository._appeal(r) for r in rows]

