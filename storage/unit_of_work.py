"""SqlUnitOfWork: one connection, one transaction, all repositories bound to it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.evaluation_repository import SqlEvaluationRepository
from storage.handling_repository import SqlHandlingRepository
from storage.repositories import (
    SqlAppealRepository,
    SqlBindCodes,
    SqlConversationRepository,
    SqlDirectoryRepository,
    SqlEnterpriseRepository,
    SqlInboundLog,
    SqlOutbox,
    SqlTagCorrections,
)
from storage.sweep_repository import SqlSweepRepository


class SqlUnitOfWork:
    """`async with uow:` opens a transaction; leaving without commit() rolls everything back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.conn: AsyncConnection | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self.conn = await self.engine.connect()
        try:
            await self.conn.begin()
        except BaseException:
            await self.conn.close()
            raise
        self.appeals = SqlAppealRepository(self.conn)
        self.enterprises = SqlEnterpriseRepository(self.conn)
        self.directory = SqlDirectoryRepository(self.conn)
        self.conversations = SqlConversationRepository(self.conn)
        self.outbox = SqlOutbox(self.conn)
        self.inbound = SqlInboundLog(self.conn)
        self.bind_codes = SqlBindCodes(self.conn)
        self.handling = SqlHandlingRepository(self.conn)
        self.evaluation = SqlEvaluationRepository(self.conn)
        self.sweeps = SqlSweepRepository(self.conn)
        self.tags = SqlTagCorrections(self.conn)
        self.committed = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.conn is not None
        try:
            if not self.committed and self.conn.in_transaction():
                await self.conn.rollback()
        finally:
            await self.conn.close()
            self.conn = None

    async def commit(self) -> None:
        assert self.conn is not None
        await self.conn.commit()
        self.committed = True

    async def rollback(self) -> None:
        assert self.conn is not None
        await self.conn.rollback()


def uow_factory(engine: AsyncEngine):  # type: ignore[no-untyped-def]
    return lambda: SqlUnitOfWork(engine)
