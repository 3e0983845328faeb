"""Each benchmark and fault script, run for seconds (on SQLite, or on a scratch PostgreSQL database when
the suite runs on PostgreSQL): it finishes, prints its JSON, and its checks pass."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.conftest import PG_URL

pytestmark = pytest.mark.smoke
ROOT = Path(__file__).resolve().parents[2]


def run(module: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = "\n" + proc.stdout
    return json.loads(out[out.rindex("\n{\n") + 1:])  # the final report, after any progress lines


def test_load_benchmark_runs() -> None:
    report = run("benchmarks.load_dingtalk", "--seconds", "1", "--concurrency", "8", "--users", "20")
    assert report["sqlite"]["requests"] > 0
    assert report["sqlite"]["non_2xx"] == 0
    assert report["sqlite"]["delivered"] >= report["sqlite"]["requests"]


def test_crash_script_finds_nothing_lost() -> None:
    report = run("benchmarks.crash", "--users", "16", "--concurrency", "8", "--kill-after", "1",
                 "--lease-seconds", "2")
    assert report["ok"], report["checks"]
    assert report["acknowledged"] == report["sent"] == report["stored"]


def test_crash_script_with_the_sender_in_a_child_process() -> None:
    report = run("benchmarks.crash", "--users", "16", "--concurrency", "8", "--kill-after", "1",
                 "--lease-seconds", "2", "--delivery-worker", "process")
    assert report["ok"], report["checks"]
    assert report["delivery_worker"] == "process"
    assert report["acknowledged"] == report["sent"] == report["stored"]


def test_growth_benchmark_runs() -> None:
    report = run("benchmarks.growth", "--sizes", "500,1000", "--repeat", "1", "--memory-dialogues", "20")
    assert set(report["sqlite"]["1000"]) >= {"查询", "待分派", "待办", "filing (submit + commit)"}
    assert report["memory"]["dialogues_in_progress"] == 20


@pytest.fixture
def scratch_postgres() -> str:
    """A database of the smoke run's own beside the test database, whose schema the script drops."""
    import asyncpg

    url = make_url(PG_URL)
    name = f"{url.database}_smoke_floor"

    async def create() -> None:
        conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set QIHU_TEST_DATABASE_URL")
def test_postgres_floor_benchmark_runs(scratch_postgres: str) -> None:
    report = run("benchmarks.pg_floor", "--seconds", "1", "--concurrency", "4", "--postgres", scratch_postgres)
    for handler in ("insert", "two", "turn"):
        assert report[handler]["requests"] > 0 and report[handler]["non_2xx"] == 0, handler
