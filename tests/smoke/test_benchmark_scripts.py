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
DATA = ROOT.parent / "shared" / "data" / "tipdm2020c-train.csv"
needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"labelled data absent: {DATA} (see ../shared/data/README)")


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


def test_stream_load_benchmark_handles_every_message_once() -> None:
    report = run("benchmarks.load_stream", "--messages", "60", "--users", "12", "--drop-after", "20")
    result = report["sqlite"]
    assert result["handled_once"] and result["connections"] == 2 and result["frames_resent"] > 0
    assert result["ack_codes"] == {"200": 60} and result["bad_acks"] == 0


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


def test_webchat_load_benchmark_runs() -> None:
    report = run("benchmarks.load_webchat", "--seconds", "1", "--concurrency", "4")
    assert report["qihu"]["requests"] > 0
    assert report["qihu"]["non_200"] == 0, report["qihu"]["statuses"]  # e.g. the per-sender limit left on


def test_sweep_benchmark_runs_and_a_second_sweep_sends_nothing(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.sweep", "--sizes", "300", "--due", "5",
                           "--dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    assert row["appeals"] == 300 and row["messages"] > 0
    assert row["repeat_messages"] == 0  # the claim-once ledger
    assert any("ix_appeals_status_due" in line for line in row["plans"]["overdue"])


@needs_data
def test_tagging_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "tags.json"
    proc = subprocess.run([sys.executable, "benchmarks/tags_bench.py", "--n", "30", "--repeats", "1",
                           "--calibration-folds", "0",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "jieba" in proc.stdout and json.loads(out.read_text())


def test_tag_ceiling_benchmark_says_what_it_needs() -> None:
    """The ceiling script needs scikit-learn, which the project does not depend on: without it, a reason, no traceback.

    With it the script runs for minutes (docs/tags.md, "上限"), too long for this suite."""
    import importlib.util
    if importlib.util.find_spec("sklearn") is not None:
        pytest.skip("scikit-learn is installed: the full ceiling run takes minutes")
    proc = subprocess.run([sys.executable, "benchmarks/tags_ceiling.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "skipped:" in proc.stderr and ("scikit-learn" in proc.stderr or "absent" in proc.stderr)


@needs_data
def test_similarity_benchmark_runs() -> None:
    proc = subprocess.run([sys.executable, "benchmarks/similar_bench.py", "--queries", "20", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["queries"] == 20 and 0 <= report["top1_precision"] <= 1


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


@needs_data
def test_cases_benchmark_runs() -> None:
    report = run("benchmarks.cases_bench", "--sizes", "20", "--queries", "5")
    [row] = report["by_size"]
    assert row["library"] == 20 and row["queries"] == 5 and row["ms_per_assignment_warm"] > 0
