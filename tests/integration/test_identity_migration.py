"""Migration 0011: identities already linked to an enterprise become its verified members."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from storage import tables as t
from storage.engine import create_engine
from storage.migrate import alembic_config, upgrade_async
from tests.conftest import PG_URL

AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


async def _fresh(url: str) -> None:
    if url.startswith("postgresql"):
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()


def _appeal(number: str, enterprise_id: int, contact: str, phone: str, filer: str | None) -> dict:
    return {"number": number, "enterprise_id": enterprise_id, "enterprise_name": "示范精密机械有限公司",
            "uscc": "91330825MA2DH4KX39", "contact": contact, "phone": phone, "area_id": "xikou", "text": "变压器增容",
            "source": "web", "type": "求助", "category": "水电气能源", "categories": ["水电气能源"],
            "tag_evidence": {}, "level": "县级", "difficulty": "一般", "status": "submitted", "attachments": [],
            "submitted_at": AT, "calendar_gap": False, "co_unit_ids": [], "flags": {}, "version": 1,
            "filer_channel": "web" if filer else None, "filer_external_id": filer, "updated_at": AT}


@pytest.fixture
def migration_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """On PostgreSQL the test database itself: taken back to 0010 by the test and left at the head again."""
    return request.getfixturevalue("pg_migrated") if PG_URL else f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"


async def test_linked_identities_become_verified_members(migration_url: str):
    url = migration_url
    await _fresh(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0010")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(t.org_units), [{"id": "xikou", "name": "溪口镇", "kind": "township",
                                                      "aliases": [], "active": True}])
            await conn.execute(insert(t.enterprises), [
                {"id": 1, "uscc": "91330825MA2DH4KX39", "name": "示范精密机械有限公司", "contact": "李四",
                 "phone": "13900001111", "area_id": "xikou", "created_at": AT, "updated_at": AT}])
            await conn.execute(insert(t.identities), [
                {"channel": "web", "external_id": "filer", "enterprise_id": 1, "display_name": "", "created_at": AT},
                {"channel": "web", "external_id": "linked", "enterprise_id": 1, "display_name": "", "created_at": AT},
                {"channel": "web", "external_id": "stranger", "enterprise_id": None, "display_name": "",
                 "created_at": AT},
            ])
            await conn.execute(insert(t.appeals), [
                _appeal("QH20261120-0001", 1, "张伟", "13800138000", "filer"),
                _appeal("QH20261120-0002", 1, "王五", "13700001111", None),  # a staff entry: no filer
            ])
    finally:
        await engine.dispose()
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            m = t.enterprise_members.c
            rows = (await conn.execute(select(m.external_id, m.enterprise_id, m.status, m.contact, m.phone, m.method)
                                       .order_by(m.external_id))).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("filer", 1, "verified", "张伟", "13800138000", "migration"),  # from the newest appeal they filed
        ("linked", 1, "verified", "李四", "13900001111", "migration"),  # no appeal of theirs: the profile's
    ]
