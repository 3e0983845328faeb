"""Reports from a seeded pool: Markdown and HTML with charts, and an XLSX whose totals equal the report's."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.demo_pool import seed_pool
from bot.reports.charts import cjk_font
from bot.reports.content import build
from bot.reports.render import html_page, markdown
from bot.reports.workbook import write
from bot.services.kpi import report_for
from storage import tables as t
from storage.tables import ratings
from tests.conftest import SHANGHAI


@pytest.fixture
async def report(app, clock):  # type: ignore[no-untyped-def]
    end = clock.now()
    clock.at = end - timedelta(days=60)
    stats = await seed_pool(app.runtime, clock, 50, end - timedelta(days=60), end, seed=7)
    assert stats.appeals >= 45 and stats.rated > 20  # a few fall on the last day after "now"
    async with app.runtime.uow() as uow:
        kpi = await report_for(uow, app.runtime, None, "2026Q4")
    return build(kpi, 1)


async def test_markdown_has_every_gbt36733_section(report):
    md = markdown(report, SHANGHAI)
    for heading in ("评价目的", "评价期间", "数据来源与核验", "指标体系与结果", "样本量", "红榜", "黑榜",
                    "正面典型案例", "反面典型案例", "为企办实事候选", "改革任务清单", "结论"):
        assert heading in md
    assert "| 企业评价 | 满意率 |" in md and "25%" in md and "企业服务指数" in md


async def test_html_embeds_charts_with_a_cjk_font(report):
    assert cjk_font() is not None, "install fonts-noto-cjk (make browser)"
    page = html_page(report, SHANGHAI)
    assert page.count("data:image/png;base64,") >= 3
    assert '<html lang="zh-CN">' in page


async def test_xlsx_totals_equal_the_report(report, tmp_path):
    path = write(report, tmp_path / "r.xlsx", SHANGHAI)
    wb = load_workbook(path)
    t = report.kpi.total
    units = list(wb["分单位"].iter_rows(values_only=True))
    head, total = units[0], units[-1]
    col = {name: i for i, name in enumerate(head)}
    assert total[col["受理"]] == t.received and total[col["办结"]] == t.resolved
    assert total[col["满意率"]] == t.satisfaction.pct and total[col["指数"]] == t.index
    # The rows behind the figures add up to them.
    on_time = list(wb["按时办结明细"].iter_rows(min_row=2, values_only=True))
    assert len(on_time) == t.on_time.den and sum(r[-1] == "是" for r in on_time) == t.on_time.num
    received = list(wb["受理明细"].iter_rows(min_row=2, values_only=True))
    assert len(received) == t.received
    rated = [r for r in wb["评价明细"].iter_rows(min_row=2, values_only=True) if r[-1] == "否"]
    satisfied = ("非常满意", "满意", "基本满意")  # rating levels are words, not 5…1
    assert len(rated) == t.satisfaction.den and sum(r[5] in satisfied for r in rated) == t.satisfaction.num
    excluded = [r for r in wb["评价明细"].iter_rows(min_row=2, values_only=True) if r[-1] == "是"]
    assert len(excluded) == t.excluded_invalid
    callbacks = list(wb["回访明细"].iter_rows(min_row=2, values_only=True))
    assert len(callbacks) == t.callback.den
    indicators = {r[1]: r[4] for r in wb["指标体系"].iter_rows(min_row=2, values_only=True)}
    assert indicators["按时办结率"] == t.on_time.pct and indicators["企业服务指数"] == t.index
    # People read the sheets: Chinese headers and labels, no codes, weights rounded.
    assert received[0] and wb["受理明细"]["A1"].value == "编号" and wb["按时办结明细"]["I1"].value == "按时"
    every = [v for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row]
    for code in ("submitted_at", "closed", "resolved", "in_progress", "end_reason", "sample"):
        assert code not in every
    weights = [r[3] for r in wb["指标体系"].iter_rows(min_row=2, values_only=True) if r[3] is not None]
    assert weights and all(w == round(w, 4) for w in weights)
    # Per-unit rows sum to the county total where the figure is additive.
    body = units[1:-1]
    assert sum(r[col["受理"]] for r in body) == t.received


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (make browser)")
async def test_html_renders_in_headless_chromium(report, tmp_path):
    html_file = tmp_path / "report.html"
    html_file.write_text(html_page(report, SHANGHAI), encoding="utf-8")
    png = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    f"--screenshot={png}", "--window-size=1200,3000", html_file.as_uri()],
                   check=True, capture_output=True, timeout=60)
    assert png.stat().st_size > 50_000


HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "# 标题", "正常的评价\x01"]
# Every comment also carries markup, so whichever ones the report quotes show how it is written.
MARKUP = " <script>alert(1)</script> [县政府通知](https://evil.example/a)"


async def test_what_enterprises_wrote_is_text_in_the_html_and_the_xlsx(app, clock, tmp_path):
    """Rating comments are what enterprises typed: neither markup in the page nor a formula in a cell."""
    end = clock.now()
    clock.at = end - timedelta(days=60)
    await seed_pool(app.runtime, clock, 30, end - timedelta(days=60), end, seed=7)
    async with app.database.engine.begin() as conn:
        ids = [r.id for r in (await conn.execute(select(ratings.c.id).order_by(ratings.c.id))).all()]
        assert len(ids) >= len(HOSTILE)
        for rid in ids:
            await conn.execute(update(ratings).where(ratings.c.id == rid).values(
                comment=HOSTILE[rid % len(HOSTILE)] + MARKUP, level=5))
    async with app.runtime.uow() as uow:
        content = build(await report_for(uow, app.runtime, None, "2026Q4"), 1)
    page = html_page(content, SHANGHAI)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "[县政府通知](https://evil.example/a)" in page  # shown as text: HTML makes no link of markdown
    assert "<script" not in page.split("</style>")[1]
    assert 'href="https://evil' not in page
    wb = load_workbook(write(content, tmp_path / "r.xlsx", SHANGHAI))
    sheet = wb["评价明细"]
    col = [c.value for c in sheet[1]].index("意见")
    cells = [row[col] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells if c.value)  # no cell is a formula
    written = {c.value for c in cells}
    assert {"'" + h + MARKUP for h in HOSTILE[:5]} <= written
    assert "'\nCR" + MARKUP in written  # XML reads a stored CR back as LF; the apostrophe is what counts
    assert "# 标题" + MARKUP in written and "正常的评价\ufffd" + MARKUP in written


async def test_demo_pool_escalates_through_the_centre_and_rates_after_closure(app, clock):
    """The demo county's 市级专班 has staff: escalations are requested, decided by the centre, and 基层评价
    only ever follows closure."""
    end = clock.now()
    clock.at = end - timedelta(days=90)
    await seed_pool(app.runtime, clock, 120, end - timedelta(days=90), end, seed=11)
    async with app.database.engine.connect() as conn:
        actions = [r.action for r in (await conn.execute(select(t.appeal_events.c.action))).all()]
        rated = (await conn.execute(select(t.grassroots_ratings.c.appeal_id))).all()
        closed = {r.id for r in (await conn.execute(select(t.appeals.c.id).where(t.appeals.c.status == "closed")))}
    assert actions.count("escalate_request") >= actions.count("escalate") > 0
    assert rated and {r.appeal_id for r in rated} <= closed
