"""12345-8 hotline CSV import: good rows in, bad rows reported by line with the reason, nothing twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli.common import read_csv_rows
from bot.cli.parser import main
from bot.domain.appeal import Source, Status
from bot.services.intake import import_hotline, missing_columns
from handlers.render import refusal
from storage import tables as t
from tests.conftest import start_app
from tests.integration.test_filing_dialogue import count

MESSY = Path(__file__).resolve().parent.parent / "data" / "hotline_messy.csv"


async def test_messy_csv_imports_good_rows_and_explains_bad_ones(app):
    header, rows = read_csv_rows(MESSY)
    assert missing_columns(header) == []
    report = await import_hotline(app.runtime, rows)
    assert [line for line, _ in report.imported] == [2, 3]
    reasons = {line: refusal(err) for line, err in report.errors}
    assert "来电时间「2026-13-45 10:00」无法识别" in reasons[4]
    assert "所属乡镇「火星镇」不在本县乡镇列表中" in reasons[5]
    assert "与第 2 行重复" in reasons[6]
    assert "第 18 位校验码" in reasons[7]
    assert "不是有效的手机号码" in reasons[9]
    assert await count(app, t.appeals) == 2
    async with app.runtime.uow() as uow:
        first = await uow.appeals.get(report.imported[0][1])
        second = await uow.appeals.get(report.imported[1][1])
    assert first.source == Source.HOTLINE and first.status == Status.SUBMITTED and first.filer_channel is None
    assert first.phone == "13800138000" and first.area_id == "xikou" and first.flags["hotline_ref"] == "RX2026112001"
    assert second.area_id == "kfq" and second.category == "政策兑现"  # no category column value: suggested

    again = await import_hotline(app.runtime, rows)
    assert again.imported == []
    assert [(line, ref) for line, ref, _ in again.skipped] == [(2, "RX2026112001"), (3, "RX2026112002")]
    assert await count(app, t.appeals) == 2


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("工单编号,企业名称\nA1,示范公司\n", encoding="utf-8")
    header, _ = read_csv_rows(path)
    assert "来电时间" in missing_columns(header) and "统一社会信用代码" in missing_columns(header)


def test_cli_import_hotline_reports_by_line(settings, clock, monkeypatch, capsys, tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(MESSY.read_text(encoding="utf-8").encode("gb18030"))
    monkeypatch.setenv("QIHU_DATABASE__URL", settings.database.url)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "hotline", str(gbk)])
    out = capsys.readouterr().out
    assert exit_info.value.code == 1
    assert "第 2 行：已导入" in out and "第 5 行：未导入，所属乡镇「火星镇」" in out
    assert "共 7 行：导入 2，跳过 0，有误 5。" in out
    with pytest.raises(SystemExit):
        main(["import", "hotline", str(gbk)])
    assert "导入 0，跳过 2，有误 5" in capsys.readouterr().out

    async def stored() -> int:
        app = await start_app(settings, clock)
        try:
            return await count(app, t.appeals)
        finally:
            await app.close()

    assert asyncio.run(stored()) == 2
