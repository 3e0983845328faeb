"""SqlUnitOfWork: one connection, one transaction; on SQLite, turns share a group-committed transaction;
on PostgreSQL the transaction is driven on the asyncpg connection itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.services.ports import StorageInterrupted
from storage.api_repository import SqlApiRepository
from storage.case_repository import SqlCaseRepository
from storage.engine import DirectConnection, OwnedSqlite, PgDriver, is_sqlite
from storage.evaluation_repository import SqlEvaluationRepository
from storage.handling_repository import SqlHandlingRepository
from storage.improvement_repository import SqlImprovementRepository
from storage.repositories import (
    SqlAppealRepository,
    SqlBindCodes,
    SqlCallbackSignatures,
    SqlDirectoryRepository,
    SqlEnterpriseRepository,
    SqlInboundLog,
    SqlOutbox,
    SqlTagCorrections,
)
from storage.sweep_repository import SqlSweepRepository
from storage.turn_repository import PgTurnStore, turn_store

log = logging.getLogger(__name__)
SAVEPOINT, RELEASE, ROLLBACK_TO = "SAVEPOINT uow", "RELEASE SAVEPOINT uow", "ROLLBACK TO SAVEPOINT uow"


async def _plain_sql(conn: AsyncConnection | DirectConnection, sql: str) -> None:
    # Plain SQL: SQLAlchemy's begin_nested() costs more than the statement itself.
    if isinstance(conn, DirectConnection):
        conn.run_raw(sql)
    else:
        await conn.exec_driver_sql(sql)


class _Repository:
    """A repository over the unit of work's connection, made on first use: a turn uses two or three
    of the dozen or more, and making all of them for every turn showed in the profile."""

    def __init__(self, factory: Callable[[AsyncConnection], object]) -> None:
        self.factory = factory

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, uow: SqlUnitOfWork | None, owner: type | None = None) -> object:
        if uow is None:
            return self
        if uow.conn is None:
            raise RuntimeError(f"uow.{self.name} used outside its transaction")
        repository = uow.__dict__[self.name] = self.factory(uow.conn)
        return repository


class SqlUnitOfWork:
    """`async with uow:` opens a transaction; leaving without commit() rolls everything back."""

    appeals = _Repository(SqlAppealRepository)
    enterprises = _Repository(SqlEnterpriseRepository)
    directory = _Repository(SqlDirectoryRepository)
    outbox = _Repository(SqlOutbox)
    inbound = _Repository(SqlInboundLog)
    turns = _Repository(turn_store)
    bind_codes = _Repository(SqlBindCodes)
    callback_signatures = _Repository(SqlCallbackSignatures)
    handling = _Repository(SqlHandlingRepository)
    evaluation = _Repository(SqlEvaluationRepository)
    sweeps = _Repository(SqlSweepRepository)
    tags = _Repository(SqlTagCorrections)
    api = _Repository(SqlApiRepository)
    improvement = _Repository(SqlImprovementRepository)
    cases = _Repository(SqlCaseRepository)

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.conn: AsyncConnection | None = None

    def _bind(self, conn: AsyncConnection) -> None:
        self.conn = conn
        for name in _REPOSITORIES:
            self.__dict__.pop(name, None)
        self.committed = False

    async def __aenter__(self) -> SqlUnitOfWork:
        conn = await self.engine.connect()
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._bind(conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.conn is not None
        try:
            if not self.committed and self.conn.in_transaction():
                await self.conn.rollback()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        finally:
            await self.conn.close()
            self.conn = None
        if isinstance(exc[1], DBAPIError) and exc[1].connection_invalidated:
            # No pre-ping on checkout (it cost three round trips a turn): a connection that died in
            # the pool is found by the first statement, and the caller may run the whole unit again.
            raise StorageInterrupted(str(exc[1])) from exc[1]

    async def commit(self) -> None:
        assert self.conn is not None
        await self.conn.commit()
        self.committed = True

    async def rollback(self) -> None:
        assert self.conn is not None
        await self.conn.rollback()


_REPOSITORIES = tuple(name for name, value in vars(SqlUnitOfWork).items() if isinstance(value, _Repository))


class _Batch:
    def __init__(self, conn: AsyncConnection | DirectConnection, checkout: AsyncConnection) -> None:
        loop = asyncio.get_running_loop()
        self.conn = conn
        self.checkout = checkout  # holding the pool's one connection keeps every other user out
        self.members = 0
        self.opened = loop.time()
        self.done: asyncio.Future[None] = loop.create_future()
        self.flush_scheduled = False


class GroupCommit:
    """SQLite has one writer: units of work take turns on one connection, and those that arrive while
    others run share its transaction, each inside a SAVEPOINT (so one failing turn rolls back alone).
    The transaction commits when nobody is waiting, or after `max_turns` members or `max_age` seconds;
    a member's commit() returns only after that COMMIT, so nothing is acknowledged before it is stored.
    """

    def __init__(self, engine: AsyncEngine, max_turns: int = 32, max_age: float = 0.05,
                 acquire_timeout: float = 120.0) -> None:
        self.engine = engine
        self.max_turns = max_turns
        self.max_age = max_age
        self.acquire_timeout = acquire_timeout
        self._slot = asyncio.Lock()
        self._waiting = 0
        self._batch: _Batch | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._owned: OwnedSqlite | None = None  # opened by the first unit of work
        self._inline = True  # until OwnedSqlite.for_engine says the engine has none
        self.commits = 0  # transactions committed, for benchmarks
        self.members = 0  # units of work they carried

    async def enter(self) -> _Batch:
        if self._slot.locked():
            self._waiting += 1
            try:
                async with asyncio.timeout(self.acquire_timeout):  # a nested unit of work would wait forever
                    await self._slot.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._slot.acquire()  # free: taken at once, no timer to arm and cancel
        try:
            if self._batch is None:
                checkout = await self.engine.connect()
                try:
                    conn = self._direct() or checkout
                    await conn.begin()
                except BaseException:
                    await checkout.close()
                    raise
                self._batch = _Batch(conn, checkout)
            return self._batch
        except BaseException:
            self._slot.release()
            raise

    def _direct(self) -> DirectConnection | None:
        if self._owned is None and self._inline:
            self._owned = OwnedSqlite.for_engine(self.engine)
            self._inline = self._owned is not None
        return self._owned.connection() if self._owned is not None else None

    async def leave(self, joined: bool) -> None:
        """Give the connection to the next unit of work. A complete batch commits now; otherwise the
        COMMIT waits for the loop's next turn, so that the turns started by the same burst of
        requests join it (with statements inline, a turn never yields while it holds the slot, so
        without this wait every batch would hold one turn)."""
        batch = self._batch
        try:
            assert batch is not None
            if joined:
                batch.members += 1
            full = batch.members >= self.max_turns or asyncio.get_running_loop().time() - batch.opened > self.max_age
            if full or (batch.members == 0 and self._waiting == 0):  # nothing to wait for: end it now
                self._batch = None
                await self._commit(batch)
            elif not batch.flush_scheduled:
                batch.flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._schedule_flush, batch)
        finally:
            self._slot.release()

    def _schedule_flush(self, batch: _Batch) -> None:
        task = asyncio.get_running_loop().create_task(self._flush(batch))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self, batch: _Batch) -> None:
        """Commit `batch` once nobody is waiting to join it (or it is complete)."""
        async with self._slot:
            if self._batch is not batch:
                return  # committed already, by a member that filled it
            full = batch.members >= self.max_turns or asyncio.get_running_loop().time() - batch.opened > self.max_age
            if self._waiting and not full:
                # Waiting units of work join first; the last of them to leave schedules the next flush.
                batch.flush_scheduled = False
                return
            self._batch = None
            await self._commit(batch)

    async def close(self) -> None:
        """Commit the open batch, whose members are waiting for it, before the engine goes away."""
        while self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        async with self._slot:
            if self._batch is not None:
                batch, self._batch = self._batch, None
                await self._commit(batch)
            if self._owned is not None:
                owned, self._owned = self._owned, None
                owned.close()

    async def _commit(self, batch: _Batch) -> None:
        try:
            if batch.members:
                await batch.conn.commit()
                self.commits += 1
                self.members += batch.members
            else:
                await batch.conn.rollback()
            batch.done.set_result(None)
        except Exception as exc:
            log.exception("group commit of %s units of work failed", batch.members)
            if batch.members:
                batch.done.set_exception(exc)
            else:
                batch.done.set_result(None)
        finally:
            try:
                if batch.conn is not batch.checkout:
                    await batch.conn.close()
                await batch.checkout.close()
            except Exception:
                log.exception("closing the group-commit connection failed")


class BatchedUnitOfWork(SqlUnitOfWork):
    """A unit of work inside a GroupCommit batch: SAVEPOINT on entry, RELEASE + wait for COMMIT on commit()."""

    def __init__(self, group: GroupCommit) -> None:
        super().__init__(group.engine)
        self.group = group
        self._open = False  # inside our savepoint
        self._batch: _Batch | None = None
        self._left = False

    async def __aenter__(self) -> BatchedUnitOfWork:
        batch = await self.group.enter()
        try:
            await _plain_sql(batch.conn, SAVEPOINT)
        except BaseException:
            await self.group.leave(False)
            raise
        self._open = True
        self._batch = batch
        self._left = False
        self._bind(batch.conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._left:
            return
        try:
            if self._open and self._batch is not None:
                self._open = False
                await _plain_sql(self._batch.conn, ROLLBACK_TO)
                await _plain_sql(self._batch.conn, RELEASE)
        except Exception:
            log.exception("rollback to savepoint failed")
        finally:
            self._left = True
            self.conn = None
            batch = self._batch
            saw_others = batch is not None and batch.members > 0
            await self.group.leave(False)
        if saw_others and exc[0] is None:
            # What this unit of work read may include other members' uncommitted rows (a reply on
            # the web chat page, a dedupe claim): it is not done until they are stored.
            assert batch is not None
            await batch.done

    async def commit(self) -> None:
        assert self._open and self._batch is not None and not self._left
        await _plain_sql(self._batch.conn, RELEASE)
        self._open = False
        self._left = True
        self.conn = None  # the connection now belongs to the next unit of work
        await self.group.leave(True)
        await self._batch.done
        self.committed = True

    async def rollback(self) -> None:
        assert self._open and self._batch is not None and not self._left
        await _plain_sql(self._batch.conn, ROLLBACK_TO)


class FairGate:
    """At most `size` units of work hold a connection; the others wait in the order they came.

    SQLAlchemy's pool hands a returned connection to whoever asks next, and under load a newcomer
    often asks before the waiter the pool woke gets to run: some turns waited ten times as long as
    others (p99 200 ms against p50 60 ms at concurrency 64). A semaphore that queues newcomers behind
    waiters, sized to the pool, keeps the pool from ever making anyone wait (docs/benchmarks.md).
    """

    def __init__(self, size: int, timeout: float = 30.0) -> None:
        self._slots = asyncio.Semaphore(size)  # FIFO: a newcomer does not pass a waiter
        self.timeout = timeout

    async def enter(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: taken at once, no timer to arm and cancel
            return
        try:
            async with asyncio.timeout(self.timeout):  # like the pool's own timeout: a nested unit of
                await self._slots.acquire()           # work in every slot would otherwise wait forever
        except TimeoutError:
            raise TimeoutError(f"no database connection free for {self.timeout:g} s") from None

    def leave(self) -> None:
        self._slots.release()


class PgUnitOfWork(SqlUnitOfWork):
    """PostgreSQL: BEGIN, COMMIT and the statements that open and close a turn go straight to the
    asyncpg connection, which SQLAlchemy holds in autocommit mode (so it never sends a BEGIN of its
    own); the repositories' other statements go through SQLAlchemy on the same connection, inside
    the same transaction. SQLAlchemy's execution path had cost more than the round trips."""

    turns = _Repository(PgTurnStore)

    def __init__(self, engine: AsyncEngine, gate: FairGate | None = None) -> None:
        """`engine`: one in autocommit mode, `pg_autocommit(engine)`; `gate`: see FairGate."""
        super().__init__(engine)
        self.gate = gate
        self.driver: PgDriver | None = None

    async def __aenter__(self) -> PgUnitOfWork:
        if self.gate is not None:
            await self.gate.enter()
        try:
            conn = await self.engine.connect()
            try:
                driver = PgDriver(conn)
                await driver.execute("BEGIN")
            except BaseException:
                await _discard(conn)
                raise
        except BaseException:
            if self.gate is not None:
                self.gate.leave()
            raise
        self.driver = driver
        self._bind(conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.conn is not None and self.driver is not None
        conn, driver = self.conn, self.driver
        self.conn = self.driver = None
        try:
            if self.committed:
                await conn.close()
            else:
                try:
                    await driver.execute("ROLLBACK")
                except BaseException:
                    await _discard(conn)  # a connection whose transaction may still be open must not be reused
                    if exc[0] is None:
                        raise
                else:
                    await conn.close()
        finally:
            if self.gate is not None:
                self.gate.leave()
        if isinstance(exc[1], DBAPIError) and exc[1].connection_invalidated:
            raise StorageInterrupted(str(exc[1])) from exc[1]

    async def commit(self) -> None:
        assert self.driver is not None
        status = await self.driver.execute("COMMIT")
        if status != "COMMIT":  # PostgreSQL answers COMMIT in a failed transaction by rolling it back
            raise RuntimeError(f"transaction not committed: {status}")
        self.committed = True

    async def rollback(self) -> None:
        assert self.driver is not None
        await self.driver.execute("ROLLBACK")
        await self.driver.execute("BEGIN")


def pg_autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine's connections in autocommit mode (same pool), for PgUnitOfWork."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


async def _discard(conn: AsyncConnection) -> None:
    """Close a connection and take it out of the pool."""
    try:
        await conn.invalidate()
    finally:
        await conn.close()


def uow_factory(engine: AsyncEngine, *, group_commit_max: int = 32):  # type: ignore[no-untyped-def]
    """SQLite with group_commit_max > 1: units of work share group-committed transactions;
    otherwise one transaction each (PostgreSQL, whose writers run concurrently, on the asyncpg
    connection directly)."""
    if is_sqlite(engine.url.render_as_string()):
        if group_commit_max > 1:
            group = GroupCommit(engine, max_turns=group_commit_max)
            factory = lambda: BatchedUnitOfWork(group)  # noqa: E731
            factory.group = group  # type: ignore[attr-defined]
            return factory
        return lambda: SqlUnitOfWork(engine)
    if engine.dialect.driver == "asyncpg":
        autocommit = pg_autocommit(engine)
        gate = FairGate(engine.pool.size(), timeout=engine.pool.timeout())
        return lambda: PgUnitOfWork(autocommit, gate)
    return lambda: SqlUnitOfWork(engine)
