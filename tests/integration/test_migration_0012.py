"""Migration 0012 on a database that already holds bind codes: they are hashed, and still work."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, text

from bot.domain.errors import DomainError
from bot.messages import ConversationKey
from bot.services.binding import redeem_bind_code
from storage.engine import create_engine
from storage.migrate import alembic_config
from storage.tables import ts
from tests.conftest import start_app


def migrate(url: str, revision: str, down: bool = False) -> None:
    from alembic import command
    (command.downgrade if down else command.upgrade)(alembic_config(url), revision)


async def test_codes_issued_before_the_upgrade_are_hashed_and_still_redeemable(settings, clock):
    url = settings.database.url
    app = await start_app(settings, clock)  # at head, with the configured staff loaded
    await app.close()
    await asyncio.to_thread(migrate, url, "0011", True)  # the revision before: codes stored as typed
    engine = create_engine(url)
    expires = clock.now() + timedelta(hours=5)
    # The table as it was before 0012, written through the application's own timestamp type.
    old = Table("bind_codes", MetaData(), Column("code", String(16)), Column("staff_id", String(64)),
                ts("expires_at"), ts("used_at"))
    async with engine.begin() as conn:
        await conn.execute(insert(old).values(code="ABCD2345", staff_id="li-gdgs", expires_at=expires))
        await conn.execute(insert(old).values(code="USED2345", staff_id="chen-dispatch", expires_at=expires,
                                              used_at=clock.now() - timedelta(hours=1)))
    await engine.dispose()
    await asyncio.to_thread(migrate, url, "head")

    app = await start_app(settings, clock)
    try:
        async with app.database.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT code_hash FROM bind_codes"))).scalars().all()
        assert len(stored) == 2 and all(len(h) == 64 and "2345" not in h for h in stored)
        async with app.runtime.uow() as uow:
            staff = (await redeem_bind_code(uow, ConversationKey("dingtalk", "li-phone"), "abcd 2345",
                                            clock.now())).staff
            await uow.commit()
        assert staff.id == "li-gdgs"
        async with app.runtime.uow() as uow:  # a code used before the upgrade stays used
            with pytest.raises(DomainError):
                await redeem_bind_code(uow, ConversationKey("dingtalk", "chen-phone"), "USED2345", clock.now())
    finally:
        await app.close()
