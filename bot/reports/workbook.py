"""The report's XLSX: the indicator tables and the rows behind every figure (openpyxl)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.escaping import xlsx_cell
from bot.reports.content import ReportContent
from bot.services.kpi import Figures

FIG_HEAD = ["分组", "受理", "办结", "按时办结(分子)", "按时办结(分母)", "按时办结率", "已解决", "有效评价",
            "解决率", "满意(分子)", "满意率", "满意率(严格)", "未评价(分子)", "未评价(分母)", "未评价率",
            "重复投诉(分子)", "重复投诉率", "差评", "整改按期(分子)", "整改(分母)", "差评整改率",
            "回访满意(分子)", "回访(分母)", "回访满意率", "基层评价均分", "第三方均分", "指数"]

ROW_SHEETS = {  # rows key → (sheet title, columns)
    "received": ("受理明细", ["number", "unit", "category", "level", "submitted_at", "status", "repeat_of",
                           "repeat_state"]),
    "on_time": ("按时办结明细", ["number", "unit", "category", "level", "started_at", "due_at", "ended_at",
                            "end_reason", "on_time"]),
    "ratings": ("评价明细", ["number", "unit", "category", "level", "round", "rating", "tags", "tag_version",
                         "comment", "solved", "source", "rated_at", "excluded"]),
    "unrated": ("未评价明细", ["number", "unit", "category", "resolved_at", "state"]),
    "bad_reviews": ("差评明细", ["number", "round", "unit", "level", "tags", "comment", "rated_at", "verdict",
                             "verdict_kind", "verdict_note", "rectify_due_at", "rectified_at", "counted", "on_time"]),
    "callbacks": ("回访明细", ["number", "unit", "reason", "method", "result", "satisfied", "done_at"]),
    "grassroots": ("基层评价明细", ["number", "rater", "rated", "level", "score", "comment", "rated_at"]),
    "third_party": ("第三方评价明细", ["unit", "period", "source", "score", "note"]),
}


def _fig_row(f: Figures) -> list:
    return [f.label, f.received, f.resolved, f.on_time.num, f.on_time.den, f.on_time.pct, f.solved.num,
            f.solved.den, f.solved.pct, f.satisfaction.num, f.satisfaction.pct, f.satisfaction_strict.pct,
            f.unrated.num, f.unrated.den, f.unrated.pct, f.repeat.num, f.repeat.pct, f.bad_reviews,
            f.rectification.num, f.rectification.den, f.rectification.pct, f.callback.num, f.callback.den,
            f.callback.pct, f.grassroots.value, f.third_party.value, f.index]


def _cell(value: object, tz: ZoneInfo) -> object:
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None)
    if isinstance(value, bool):
        return "是" if value else "否"
    return xlsx_cell(value)


def write(c: ReportContent, path: Path, tz: ZoneInfo) -> Path:
    k = c.kpi
    wb = Workbook()
    ws = wb.active
    ws.title = "指标体系"
    ws.append(["维度", "指标", "计算方法", "权重", "数值", "样本"])
    for i in c.indicators:
        ws.append([xlsx_cell(v) for v in (i.dimension, i.name, i.formula, i.weight, i.value, i.sample)])
    ws.append(["综合", "企业服务指数", "Σ 权重 × 指标值 ÷ Σ 有数据指标的权重", 1.0, k.total.index, ""])
    for title, groups in (("分单位", k.by_unit), ("分类别", k.by_category), ("分层级", k.by_level),
                          ("分期间", k.by_part)):
        sheet = wb.create_sheet(title)
        sheet.append(FIG_HEAD)
        for f in sorted(groups.values(), key=lambda f: f.label):
            sheet.append([xlsx_cell(v) for v in _fig_row(f)])  # a unit or category label is typed in
        sheet.append([xlsx_cell(v) for v in _fig_row(k.total)])
    for key, (title, cols) in ROW_SHEETS.items():
        sheet = wb.create_sheet(title)
        sheet.append(cols)
        for row in k.rows.get(key, []):
            sheet.append([_cell(row.get(col), tz) for col in cols])
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
