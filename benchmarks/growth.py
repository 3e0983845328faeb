"""Growth: what a turn costs at 10k / 100k / 1M appeals (SQLite and PostgreSQL), and resident memory with
10k dialogues in progress. Timings are also given as multiples of one request to a bare aiohttp JSON
handler measured in the same run.

Usage: python -m benchmarks.growth [--sizes 10000,100000,1000000] [--repeat 5]
       [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/qihu_wt8_growth] [--memory-dialogues 10000]

Measured, each as a whole turn through the pipeline (lock, load, route, outbox, commit) unless noted:
- 查询 by an enterprise with 20 appeals of its own;
- 待分派 by the dispatcher (200 submitted appeals in the pool at every size);
- 待办 by a handler of one of the 5 units holding the 800 appeals being handled (160 each);
- filing: submit_appeal + commit (the last step of the filing dialogue: number, appeal, first event);
- 日报 by a leader (the digest: counts over the last working day, overdue and near-due lists);
- 统计 by a leader (this month's KPIs, a reply in chat);
- report: this quarter's figures as `qihu report` builds them (read, compute, Markdown), not a turn;
- sweep: one pass of every registered sweep (reminders, rating clocks, digests), not a turn.
Closed appeals are spread back in time (one every 150 s: 1M appeals reach back 4.8 years), the open
ones are recent, as a county's history would be.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from benchmarks.common import (
    free_port,
    get_json,
    machine,
    qihu_env,
    reset_postgres,
    start_baseline,
    start_fake_dingtalk,
    start_qihu,
    wait_ready,
)

UNITS = ["gdgs", "jxj", "kfq", "rsj", "swj"]
OPEN = 1000  # open appeals at every size (see seed())
FILER = "growth-enterprise"


async def baseline_latency(url: str, n: int = 200) -> float:
    """Median seconds of one sequential JSON POST to the bare aiohttp handler."""
    times = []
    async with aiohttp.ClientSession() as session:
        for i in range(n):
            t0 = time.perf_counter()
            async with session.post(f"{url}/api/web/messages", json={"user": "b", "text": f"x{i}"}) as resp:
                await resp.read()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def series(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"(SELECT generate_series(1, {n}) AS i) AS s"
    return f"(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {n}) SELECT i FROM r) AS s"


async def seed(app: Any, start: int, count: int, template_id: int) -> float:
    """Copy the template appeal `count` times in one INSERT … SELECT; returns seconds taken."""
    dialect = app.database.engine.dialect.name
    idx = f"(s.i + {start})"
    # A county's open appeals stay in the hundreds while closed ones pile up over the years: the newest
    # OPEN rows of each step are open (a fifth 待受理, the rest 办理中 over 5 units), everything else closed.
    first_open = start + count - OPEN
    status = (f"CASE WHEN {idx} <= {first_open} THEN 'closed' WHEN {idx} % 5 = 0 THEN 'submitted' "
              f"ELSE 'in_progress' END")
    lead = "CASE " + " ".join(f"WHEN ({idx} / 5) % 5 = {k} THEN '{u}'" for k, u in enumerate(UNITS)) + " END"
    cols = [c.name for c in __import__("storage.tables", fromlist=["appeals"]).appeals.c if c.name != "id"]
    exprs = {c: f"a.{c}" for c in cols}
    back = (f"datetime(a.submitted_at, '-' || ({idx} * 150) || ' seconds')" if dialect == "sqlite"
            else f"a.submitted_at - ({idx} * 150) * interval '1 second'")
    exprs |= {
        "submitted_at": f"CASE WHEN {idx} <= {first_open} THEN {back} ELSE a.submitted_at END",
        "number": f"'G' || CAST({idx} AS TEXT)" if dialect == "sqlite" else f"'G' || {idx}::text",
        "enterprise_id": f"(SELECT min(id) FROM enterprises) + 1 + ({idx} % 5000)",
        "status": status,
        "lead_unit_id": f"CASE WHEN {status} = 'in_progress' THEN {lead} ELSE NULL END",
    }
    sql = (f"INSERT INTO appeals ({', '.join(cols)}) SELECT {', '.join(exprs[c] for c in cols)} "
           f"FROM appeals a CROSS JOIN {series(dialect, count)} WHERE a.id = {template_id}")
    holdings = ("INSERT INTO appeal_holdings (appeal_id, unit_id, role, started_at, signoff_due_at, due_at, "
                "calendar_gap) SELECT id, lead_unit_id, 'lead', submitted_at, submitted_at, submitted_at, "
                f"{'0' if dialect == 'sqlite' else 'false'} FROM appeals WHERE id > :last AND status = 'in_progress'")
    t0 = time.perf_counter()
    async with app.database.engine.begin() as conn:
        # The previous step's open appeals are closed by now.
        await conn.execute(text("UPDATE appeals SET status = 'closed' WHERE number LIKE 'G%' AND status <> 'closed'"))
        await conn.execute(text("UPDATE appeal_holdings SET ended_at = started_at, end_reason = 'resolved' "
                                "WHERE ended_at IS NULL"))
        last = (await conn.execute(text("SELECT coalesce(max(id), 0) FROM appeals"))).scalar_one()
        await conn.execute(text(sql))
        await conn.execute(text(holdings), {"last": last})
    if dialect == "postgresql":
        async with app.database.engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))
    else:
        async with app.database.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


async def prepare(url: str) -> tuple[Any, int]:
    """The app, 5,000 enterprises, one real appeal (the template) filed through submit_appeal."""
    from bot.bootstrap import build_app
    from bot.config import EXAMPLE_CONFIG, load_settings
    from bot.domain.appeal import AppealType, Source
    from bot.messages import ConversationKey
    from bot.services.appeals import FilingDraft, submit_appeal
    from storage.migrate import upgrade_async

    settings = load_settings(EXAMPLE_CONFIG)
    settings = settings.model_copy(update={"database": settings.database.model_copy(update={"url": url})})
    await upgrade_async(url)
    app = build_app(settings)
    await app.prepare_database()
    await asyncio.to_thread(app.runtime.tagger.tokenizer.load)
    dialect = app.database.engine.dialect.name
    async with app.database.engine.begin() as conn:
        now = "CURRENT_TIMESTAMP"
        await conn.execute(text(
            "INSERT INTO enterprises (uscc, name, contact, phone, area_id, created_at, updated_at) "
            "SELECT 'U' || CAST(s.i AS TEXT), '企业' || CAST(s.i AS TEXT), '联系人', '13800000000', 'kfq', "
            f"{now}, {now} "
            f"FROM {series(dialect, 5001)}"))
    async with app.runtime.uow() as uow:
        from bot.services.ports import Identity
        identity = Identity(ConversationKey("dingtalk", FILER))
        draft = FilingDraft("示范精密机械有限公司", "91330825MA2DH4KX39", "张伟", "13800138000", "kfq",
                            "园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重", ["供电"], AppealType.HELP)
        appeal = await submit_appeal(uow, app.runtime, identity, draft, Source.DINGTALK)
        await uow.directory.link_staff(ConversationKey("dingtalk", "growth-dispatcher"), "chen-dispatch")
        await uow.commit()
    return app, appeal.id


async def turn_seconds(app: Any, user: str, said: str, repeat: int) -> float:
    from bot.messages import ConversationKey, InboundMessage
    times = []
    for _ in range(repeat):
        msg = InboundMessage(ConversationKey("dingtalk", user), said, uuid.uuid4().hex, app.runtime.now())
        t0 = time.perf_counter()
        await app.pipeline.handle(msg)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def filing_seconds(app: Any, repeat: int) -> float:
    from bot.domain.appeal import AppealType, Source
    from bot.messages import ConversationKey
    from bot.services.appeals import FilingDraft, submit_appeal
    from bot.services.ports import Identity
    times = []
    for i in range(repeat):
        draft = FilingDraft(f"增长测试企业{i}", "91330825MA2DH4KX39", "张伟", "13800138000", "kfq",
                            "园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重", ["供电"], AppealType.HELP)
        t0 = time.perf_counter()
        async with app.runtime.uow() as uow:
            await submit_appeal(uow, app.runtime, Identity(ConversationKey("dingtalk", f"f{i}")), draft,
                                Source.DINGTALK)
            await uow.commit()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def measure(app: Any, repeat: int) -> dict[str, float]:
    async with app.runtime.uow() as uow:
        from bot.messages import ConversationKey
        for user, staff in (("growth-gdgs", "li-gdgs"), ("growth-leader", "wang-leader")):
            await uow.directory.link_staff(ConversationKey("dingtalk", user), staff)
        await uow.commit()
    return {
        "查询": await turn_seconds(app, FILER, "查询", repeat),
        "待分派": await turn_seconds(app, "growth-dispatcher", "待分派", repeat),
        "待办": await turn_seconds(app, "growth-gdgs", "待办", repeat),
        "filing (submit + commit)": await filing_seconds(app, repeat),
        "日报": await turn_seconds(app, "growth-leader", "日报", repeat),
        "统计": await turn_seconds(app, "growth-leader", "统计", repeat),
        "report (本季度)": await report_seconds(app, repeat),
        "sweep (one pass)": await sweep_seconds(app, repeat),
    }


async def report_seconds(app: Any, repeat: int) -> float:
    """What `qihu report --period 本季度 --format md` costs before writing the file."""
    from bot.reports.content import build
    from bot.reports.render import markdown
    from bot.services.kpi import report_for
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        async with app.runtime.uow() as uow:
            kpi = await report_for(uow, app.runtime, None, "本季度")
        markdown(build(kpi, app.settings.evaluation.ranking_min_sample), app.runtime.tz)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def sweep_seconds(app: Any, repeat: int) -> float:
    from bot.services.scheduling import run_sweeps
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await run_sweeps(app.sweeps)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def growth(url: str, sizes: list[int], repeat: int, base_s: float) -> dict[str, Any]:
    app, template = await prepare(url)
    out: dict[str, Any] = {}
    have = 1
    try:
        for size in sizes:
            seeded = await seed(app, have, size - have, template)
            have = size
            timings = await measure(app, repeat)
            out[str(size)] = {"seed_seconds": round(seeded, 1)} | {
                k: {"ms": round(v * 1000, 2), "x_baseline": round(v / base_s, 1)} for k, v in timings.items()}
            print(json.dumps({str(size): out[str(size)]}, ensure_ascii=False), flush=True)
    finally:
        await app.close()
    return out


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory(dialogues: int, concurrency: int) -> dict[str, Any]:
    """Resident memory of a real server before and after `dialogues` people each start filing."""
    from benchmarks.crash import Load
    with tempfile.TemporaryDirectory() as tmp:
        fake, fake_url = start_fake_dingtalk()
        port = free_port()
        server = start_qihu(qihu_env(f"sqlite+aiosqlite:///{tmp}/mem.db", port, fake_url, dialect="zzd"), Path(tmp))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base)
            before = rss_kib(server.proc.pid)
            load = Load(base, fake_url, "zzd", "m")
            users = [f"mem-{i:05d}" for i in range(dialogues)]
            t0 = time.perf_counter()
            asyncio.run(load.users(users, ["园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重"], 0,
                                   concurrency, time.monotonic() + 900))
            seconds = time.perf_counter() - t0
            after = rss_kib(server.proc.pid)
            get_json(f"{base}/healthz")
        finally:
            server.stop()
            fake.stop()
    return {"dialogues_in_progress": len(load.acked), "seconds": round(seconds, 1),
            "rss_before_mib": round(before / 1024, 1), "rss_after_mib": round(after / 1024, 1),
            "per_dialogue_kib": round((after - before) / max(1, len(load.acked)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="", help="a database of your own; its schema is dropped first")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--memory-dialogues", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    report: dict[str, Any] = {"machine": machine()}
    proc, url = start_baseline()
    try:
        base_s = asyncio.run(baseline_latency(url))
    finally:
        proc.stop()
    report["baseline_request_ms"] = round(base_s * 1000, 3)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            report["sqlite"] = asyncio.run(growth(f"sqlite+aiosqlite:///{tmp}/growth.db", sizes, args.repeat, base_s))
        if args.postgres:
            asyncio.run(reset_postgres(args.postgres))
            report["postgresql"] = asyncio.run(growth(args.postgres, sizes, args.repeat, base_s))
    if args.memory_dialogues:
        report["memory"] = memory(args.memory_dialogues, args.concurrency)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
