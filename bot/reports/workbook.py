"""The report's XLSX: the indicator tables and the rows behind every figure (openpyxl)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot import texts
from bot.escaping import xlsx_cell
from bot.reports.content import ReportContent
from bot.services.kpi import Figures
from bot.services.ports import TypicalCase

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
    "improvement": ("改进事项", ["kind", "seq", "title", "source", "category", "appeals", "period", "item_state",
                             "votes_for", "votes_against", "unit", "deadline", "overdue", "progress", "closed_at",
                             "closing_note", "decision_note"]),
}


# The detail sheets' headers in Chinese: people read the workbook, not the code.
HEADERS = {
    "number": "编号", "unit": "单位", "category": "类别", "level": "层级", "submitted_at": "提交时间",
    "status": "状态", "repeat_of": "重复于", "repeat_state": "重复认定", "started_at": "开始时间",
    "due_at": "办理期限", "ended_at": "结束时间", "end_reason": "结束方式", "on_time": "按时",
    "round": "评价轮次", "rating": "评价等级", "tags": "评价标签", "tag_version": "标签版本", "comment": "意见",
    "solved": "是否解决", "rated_at": "评价时间", "excluded": "不计入", "resolved_at": "办结时间",
    "state": "评价状态", "verdict": "核实结论", "verdict_kind": "核实认定", "verdict_note": "核实说明",
    "rectify_due_at": "整改期限", "rectified_at": "整改完成时间", "counted": "计入考核", "reason": "回访原因",
    "method": "回访方式", "result": "回访结果", "satisfied": "是否满意", "done_at": "回访时间",
    "rater": "评价单位", "rated": "被评价单位", "score": "分数", "period": "期间", "source": "来源",
    "note": "说明",
    "kind": "清单", "seq": "序号", "title": "事项", "appeals": "关联诉求", "item_state": "事项状态",
    "votes_for": "专家同意", "votes_against": "专家不同意", "deadline": "期限", "overdue": "已超期",
    "progress": "进展", "closed_at": "完成时间", "closing_note": "完成情况", "decision_note": "决定/要求",
}
# Stored codes as words, per column; a code not listed is shown as stored.
VALUE_LABELS: dict[str, dict[object, str]] = {
    "status": {s.value: label for s, label in texts.STATUS.items()},
    "end_reason": {"resolved": "办结", "returned": "退回", "transferred": "转办", "escalated": "提级",
                   "reported": "协办已反馈", "withdrawn": "企业撤回", "merged": "合并", "rejected": "不予受理"},
    "rating": dict(texts.RATING_LEVEL_LABELS),
    "repeat_state": {"flagged": "待确认", "confirmed": "已确认", "unlinked": "已解除"},
    "reason": {"sample": "随机抽样", "bad_review": "差评", "manual": "人工指定"},
    "kind": dict(texts.IMPROVEMENT_LIST_NAME),
    "item_state": dict(texts.IMPROVEMENT_STATE),
    "source": dict(texts.IMPROVEMENT_SOURCE),
}


def _label(col: str, value: object) -> object:
    labels = VALUE_LABELS.get(col)
    if labels is None or isinstance(value, bool):
        return value
    return labels.get(value, value)


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
        weight = round(i.weight, 4) if i.weight is not None else None  # 0.25, not 0.2499999999999999
        ws.append([xlsx_cell(v) for v in (i.dimension, i.name, i.formula, weight, i.value, i.sample)])
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
        sheet.append([HEADERS.get(col, col) for col in cols])
        for row in k.rows.get(key, []):
            sheet.append([_cell(_label(col, row.get(col)), tz) for col in cols])
    _case_sheet(wb.create_sheet("典型服务判例"), c.cases.marked, k.unit_names, tz)
    return _save(wb, path)


CASE_HEAD = ["编号", "类别", "承办单位", "用时（工作日）", "企业评价", "诉求内容", "做法", "列入人", "列入时间"]


def _case_sheet(sheet, cases: list[TypicalCase], names: dict[str, str], tz: ZoneInfo,  # type: ignore[no-untyped-def]
                staff: dict[str, str] | None = None) -> None:
    """One row per typical case; every text a person wrote goes through xlsx_cell."""
    sheet.append(CASE_HEAD)
    for case in cases:
        units = "、".join(names.get(u, u) for u in case.units)
        rating = texts.RATING_LEVEL_LABELS.get(case.rating or 0, texts.CASE_NOT_RATED)
        marked_by = (staff or {}).get(case.marked_by, case.marked_by)
        sheet.append([_cell(v, tz) for v in (case.appeal_number, case.category, units, case.workdays, rating,
                                              case.text, case.method, marked_by, case.marked_at)])


def write_cases(cases: list[TypicalCase], names: dict[str, str], staff: dict[str, str], path: Path,
                tz: ZoneInfo) -> Path:
    """`qihu cases export`: the whole library as one sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "典型服务判例"
    _case_sheet(ws, cases, names, tz, staff)
    return _save(wb, path)


def _save(wb: Workbook, path: Path) -> Path:
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
