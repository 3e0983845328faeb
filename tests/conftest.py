"""Fixtures: a real database per test (SQLite file, or PostgreSQL via QIHU_TEST_DATABASE_URL),
the real app wired by build_app with a frozen clock, and a conversation helper."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from bot.bootstrap import App, build_app
from bot.config import EXAMPLE_CONFIG, Settings, load_settings
from bot.messages import ConversationKey, InboundMessage
from bot.services.ports import ConversationState
from nlp.rules import KeywordRules, RuleTagger
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.rows import state_from
from storage.tables import conversations, metadata
from tests.fakes import FrozenClock

PG_URL = os.environ.get("QIHU_TEST_DATABASE_URL", "")
SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def pytest_report_header(config: pytest.Config) -> str:
    return f"qihu database: {PG_URL or 'SQLite (temporary files)'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    async def reset() -> None:
        engine = create_engine(PG_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())
    upgrade(PG_URL)
    return PG_URL


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if PG_URL:
        url = request.getfixturevalue("pg_migrated")

        async def truncate() -> None:
            engine = create_engine(url)
            async with engine.begin() as conn:
                names = ", ".join(t.name for t in metadata.sorted_tables)
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await engine.dispose()

        asyncio.run(truncate())
        return url
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "qihu.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    base = load_settings(EXAMPLE_CONFIG)
    # The frozen clock never refills a sender's rate-limit bucket: tests of the limit turn it on themselves.
    # A fixed 回访 seed that samples none of QH20261120…QH20261209's first four numbers: a stored random
    # seed sampled a test's appeal about one run in ten and added a task the test did not expect.
    return base.model_copy(update={"evaluation": base.evaluation.model_copy(update={"callback_seed": "tests-4289"}),
                                   "database": base.database.model_copy(update={"url": database_url}),
                                   "server": base.server.model_copy(update={"sender_per_minute": 0}),
                                   "spool": base.spool.model_copy(update={"path": str(tmp_path / "spool.jsonl")})})


@pytest.fixture
def clock() -> FrozenClock:
    # Wednesday 2026-11-25 10:00 in Beijing.
    return FrozenClock(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))


_TAGGER: RuleTagger | None = None


def shared_tagger() -> RuleTagger:
    """jieba's dictionary loads once per test session, not once per test."""
    global _TAGGER
    if _TAGGER is None:
        _TAGGER = RuleTagger(KeywordRules.load())
        _TAGGER.tokenizer.load()
    return _TAGGER


async def start_app(settings: Settings, clock: FrozenClock, **kw: object) -> App:
    kw.setdefault("tagger", shared_tagger())
    app = build_app(settings, clock=clock, **kw)  # type: ignore[arg-type]
    await app.prepare_database()
    return app


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock):  # type: ignore[no-untyped-def]
    application = await start_app(settings, clock)
    yield application
    await application.close()


class Chat:
    """One person talking to the bot: say() returns the texts the bot answered them this turn."""

    def __init__(self, app: App, user: str, channel: str = "web") -> None:
        self.app = app
        self.key = ConversationKey(channel, user)
        self.choices: list[dict] = []

    async def say(self, text: str, message_id: str | None = None) -> str:
        msg = InboundMessage(self.key, text, message_id or uuid.uuid4().hex, self.app.runtime.now())
        ids = await self.app.pipeline.handle(msg) or []
        async with self.app.runtime.uow() as uow:
            rows = [await uow.outbox.get(i) for i in ids]
        mine = [r for r in rows if r and r.channel == self.key.channel and r.recipient == self.key.user_id]
        self.choices = mine[-1].body.get("choices", []) if mine else []
        return "\n".join(r.body["text"] for r in mine)

    @property
    def choice_labels(self) -> list[str]:
        return [c["label"] for c in self.choices]


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app, "ent-1")


async def bind_staff(app: App, user: str, staff_id: str, channel: str = "web") -> Chat:
    async with app.runtime.uow() as uow:
        await uow.directory.link_staff(ConversationKey(channel, user), staff_id)
        await uow.commit()
    return Chat(app, user, channel)


async def conversation_state(app: App, key: ConversationKey) -> ConversationState:
    """The conversation's state as stored (a fresh one when there is none)."""
    c = conversations.c
    stmt = select(conversations).where(c.channel == key.channel, c.user_id == key.user_id)
    async with app.database.engine.connect() as conn:
        row = (await conn.execute(stmt)).first()
    return state_from(row)
