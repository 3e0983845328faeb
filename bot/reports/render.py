"""The report as Markdown (for chat and files) and as one self-contained HTML page with charts."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import texts
from bot.escaping import html_text
from bot.reports.charts import all_charts
from bot.reports.content import ReportContent, unit_rows
from bot.services.kpi import Figures

PURPOSE = ("依据《企业诉求闭环管理规范》“评价改进”要求和 GB/T 36733-2018《服务质量评价通则》，"
           "以企业评价为主、基层评价和第三方评价为辅，评价本期涉企服务质量，形成企业服务指数，"
           "找出薄弱环节，提出改进措施。")


def _v(value: float | None, pct: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}%" if pct else f"{value:.1f}"


def _d(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d") if at else "—"


def _period_text(c: ReportContent, tz: ZoneInfo) -> str:
    p = c.kpi.period
    last = _d(p.end - timedelta(days=1), tz)
    return f"{p.label}（{_d(p.start, tz)} 至 {last}，数据截至 {_d(c.kpi.generated_at, tz)}）"


def _unit_line(f: Figures) -> list[str]:
    return [f.label, str(f.received), str(f.resolved), _v(f.on_time.pct), _v(f.solved.pct),
            _v(f.satisfaction.pct),
            _v(f.satisfaction_strict.pct), _v(f.unrated.pct), _v(f.repeat.pct), _v(f.rectification.pct),
            _v(f.callback.pct), _v(f.index, pct=False)]


UNIT_HEAD = ["单位", "受理", "办结", "按时办结率", "解决率", "满意率", "满意率(严格)", "未评价率", "重复投诉率",
             "差评整改率", "回访满意率", "指数"]


def rectify_state(r: dict, now: datetime) -> str:
    """Which one: rectified on time, rectified late, still within its deadline, or overdue (as of the report)."""
    if r["rectified_at"] is not None:
        return "已按期整改" if r["on_time"] else "已整改（逾期完成）"
    if r["rectify_due_at"] is not None and now > r["rectify_due_at"]:
        return "逾期未整改"
    return "整改中（未到期）"


def publication(c: ReportContent, number: str, tz: ZoneInfo) -> str:
    """A quarter's case: published (who approved it, when) or awaiting the leader (规范 8.1 通报曝光)."""
    if c.kpi.period.kind != "quarter":
        return ""
    p = c.cases.published.get(number)
    if p is None:
        return "（待领导审核发布）"
    return f"（已发布：{c.cases.approvers.get(p.approved_by, p.approved_by)} {_d(p.approved_at, tz)} 审核）"


def case_lines(c: ReportContent, tz: ZoneInfo) -> list[str]:
    """The typical cases marked in the period, with what they keep (规范 8.2 典型服务判例)."""
    names = c.kpi.unit_names
    out = []
    for case in c.cases.marked:
        units = "、".join(names.get(u, u) for u in case.units) or "—"
        days = ("—" if case.workdays is None else texts.CASE_WORKDAYS.format(days=case.workdays) if case.workdays
                else texts.CASE_WORKDAYS_SAME_DAY)
        rating = texts.RATING_LEVEL_LABELS.get(case.rating or 0, texts.CASE_NOT_RATED)
        out.append(f"{case.appeal_number}（{case.category}；{units}；用时 {days}；企业评价 {rating}；"
                   f"{_d(case.marked_at, tz)} 列入）做法：{case.method}")
    return out


def sections(c: ReportContent, tz: ZoneInfo) -> list[tuple[str, list[str] | list[list[str]], str]]:
    """(heading, rows or paragraphs, kind) in report order; kind is 'p' (paragraphs) or 'table'."""
    t = c.kpi.total
    ind = [["维度", "指标", "计算方法", "权重", "数值", "样本"]] + [
        [i.dimension, i.name, i.formula, "—" if i.weight is None else f"{i.weight:.0%}",
         _v(i.value, pct=i.name not in ("基层评价得分", "第三方评价得分")), i.sample] for i in c.indicators]
    ind.append(["综合", "企业服务指数", "Σ 权重 × 指标值 ÷ Σ 有数据指标的权重", "100%", _v(t.index, pct=False), ""])
    samples = [
        f"受理诉求 {t.received} 件；办结 {t.resolved} 件；有效企业评价 {t.satisfaction.den} 件"
        f"（等级分布：非常满意 {t.levels[5]}、满意 {t.levels[4]}、基本满意 {t.levels[3]}、不满意 {t.levels[2]}、"
        f"非常不满意 {t.levels[1]}）。",
        f"评价期满未评价 {t.unrated.num} 件，评价期内待评价 {t.pending_rating} 件；差评 {t.bad_reviews} 件，"
        f"剔除无效差评 {t.excluded_invalid} 件；完成回访 {t.callback.den} 件；基层评价 {t.grassroots.n} 条；"
        f"第三方评价 {t.third_party.n} 条。",
        "评价来源：" + "，".join(f"{s} {n} 件" for s, n in t.rating_sources.items()) + "。",
    ]
    if c.sources:
        samples.append("受理来源：" + "，".join(f"{s} {n} 件" for s, n in c.sources) + "。")
    red = [[str(i), f.label, _v(f.index, pct=False), _v(f.satisfaction.pct), _v(f.on_time.pct)]
           for i, f in enumerate(c.red, start=1)]
    black = [[str(i), f.label, _v(f.index, pct=False), _v(f.satisfaction.pct), _v(f.on_time.pct)]
             for i, f in enumerate(c.black, start=1)]
    head = ["名次", "单位", "指数", "满意率", "按时办结率"]
    pos = [f"{r['number']}（{r['unit']}，{r['category']}）：非常满意，标签 {r['tags'] or '无'}；"
           f"企业评价：“{r['comment']}”{publication(c, r['number'], tz)}"
           for r in c.positive_cases] or ["本期无符合条件的正面典型。"]
    neg = [f"{r['number']}（{r['unit']}）：{r['tags'] or '无标签'}；核实意见：{r['verdict_note']}；"
           f"整改期限 {_d(r['rectify_due_at'], tz)}，{rectify_state(r, c.kpi.generated_at)}"
           f"{publication(c, r['number'], tz)}"
           for r in c.negative_cases] or ["本期无核实有效的差评。"]
    cands = [["类别", "件数", "占比", "说明"]] + [[cat, str(n), f"{share}%", "；".join(ex) or "—"]
                                             for cat, n, share, ex in c.candidates]
    return [
        ("一、评价目的", [PURPOSE], "p"),
        ("二、评价期间", [_period_text(c, tz)], "p"),
        ("三、数据来源与核验", c.checks, "p"),
        ("四、指标体系与结果", ind, "table"),
        ("五、样本量", samples, "p"),
        ("六、分单位结果", [UNIT_HEAD] + [_unit_line(f) for f in unit_rows(c.kpi)] + [_unit_line(t)], "table"),
        ("七、红榜", [head, *red] if red else ["样本量达标的单位不足，本期不排名。"], "table" if red else "p"),
        ("八、黑榜", [head, *black] if black else ["样本量达标的单位不足 4 个，本期不设黑榜。"],
         "table" if black else "p"),
        ("九、正面典型案例", pos, "p"),
        ("十、反面典型案例", neg, "p"),
        ("十一、典型服务判例（本期列入）", case_lines(c, tz) or ["本期没有新列入的判例。"], "p"),
        *tracked_sections(c, tz, cands),
        ("十八、结论与改进措施", c.conclusions or ["本期数据不足，暂不作结论。"], "p"),
    ]


def _tracked_state(r: dict) -> str:
    state = texts.IMPROVEMENT_STATE.get(r["item_state"], r["item_state"])
    return state + ("（已超期）" if r["overdue"] else "")


def _done_text(r: dict) -> str:
    """What was done: the progress notes in order, then the closing note, on one line (a table cell)."""
    parts = [p for p in (r["progress"], f"完成：{r['closing_note']}" if r["closing_note"] else "") if p]
    return " ".join("；".join(parts).split()) or "—"


def tracked_sections(c: ReportContent, tz: ZoneInfo, cands: list[list[str]]
                     ) -> list[tuple[str, list[str] | list[list[str]], str]]:
    """为企办实事, 改革任务 and 薄弱环节跟进 of the period with their state and what was done (规范 8.1/8.2),
    each beside the candidates this period's figures suggest."""
    rows = {kind: [r for r in c.tracked if r["kind"] == kind] for kind in ("shishi", "reform", "followup")}
    shishi = [["编号", "项目", "状态", "专家评审", "责任单位", "期限", "进展与完成情况"]] + [
        [texts.improvement_label("shishi", r["seq"]), r["title"], _tracked_state(r),
         f"同意 {r['votes_for']}、不同意 {r['votes_against']}", r["unit"] or "—", _d(r["deadline"], tz),
         _done_text(r)] for r in rows["shishi"]]
    reform = [["编号", "问题", "来源", "状态", "责任部门", "期限", "进展与完成情况（固化的服务事项或机制）"]] + [
        [texts.improvement_label("reform", r["seq"]), r["title"] + (f"（{r['appeals']}）" if r["appeals"] else ""),
         texts.IMPROVEMENT_SOURCE.get(r["source"], r["source"]), _tracked_state(r), r["unit"] or "—",
         _d(r["deadline"], tz), _done_text(r)] for r in rows["reform"]]
    follow = [["编号", "薄弱环节", "发现于", "状态", "责任单位", "期限", "做了什么"]] + [
        [texts.improvement_label("followup", r["seq"]), r["title"], r["period"] or "—", _tracked_state(r),
         r["unit"] or "—", _d(r["deadline"], tz), _done_text(r)] for r in rows["followup"]]

    def table_or(rows_: list[list[str]], empty: str) -> tuple[list[str] | list[list[str]], str]:
        return (rows_, "table") if len(rows_) > 1 else ([empty], "p")

    return [
        ("十二、为企办实事清单", *table_or(shishi, "本期没有为企办实事项目。")),
        ("十三、为企办实事候选（企业反映最多的问题）", cands, "table"),
        ("十四、改革任务清单", *table_or(reform, "本期没有改革任务。")),
        ("十五、改革任务候选（指标未达标的类别）",
         c.reform_tasks or ["本期各类别指标均达标，无新增改革任务候选。"], "p"),
        ("十六、薄弱环节跟进（上期发现的薄弱环节及整改情况）", *table_or(follow, "本期没有薄弱环节跟进事项。")),
        ("十七、本期发现的薄弱环节（下期跟进）", c.weak_spots or ["本期各单位指标均达标，未发现薄弱环节。"], "p"),
    ]


def markdown(c: ReportContent, tz: ZoneInfo) -> str:
    out = [f"# {c.title}", ""]
    for heading, rows, kind in sections(c, tz):
        out += [f"## {heading}", ""]
        if kind == "table":
            table = [[str(x).replace("|", "／") for x in r] for r in rows]  # type: ignore[union-attr]
            out.append("| " + " | ".join(table[0]) + " |")
            out.append("|" + "---|" * len(table[0]))
            out += ["| " + " | ".join(r) + " |" for r in table[1:]]
        else:
            out += [f"- {p}" if len(rows) > 1 else str(p) for p in rows]
        out.append("")
    return "\n".join(out)


CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       margin: 24px auto; max-width: 1100px; color: #222; line-height: 1.6; }
h1 { text-align: center; } h2 { border-left: 5px solid #c0392b; padding-left: 8px; margin-top: 28px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #bbb; padding: 4px 6px; text-align: left; } th { background: #f3f3f3; }
table.total tr:last-child td { font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } .charts img { max-width: 100%; border: 1px solid #ddd; }
"""


def html_page(c: ReportContent, tz: ZoneInfo) -> str:
    esc = html_text
    body = [f"<h1>{esc(c.title)}</h1>"]
    charts = all_charts(c)
    for heading, rows, kind in sections(c, tz):
        body.append(f"<h2>{esc(heading)}</h2>")
        if kind == "table":
            head, *rest = rows
            css = ' class="total"' if heading.startswith(("四", "六")) else ""
            body.append(f"<table{css}><tr>" + "".join(f"<th>{esc(str(x))}</th>" for x in head) + "</tr>")
            body += ["<tr>" + "".join(f"<td>{esc(str(x))}</td>" for x in r) + "</tr>" for r in rest]
            body.append("</table>")
        else:
            body += [f"<p>{esc(str(p))}</p>" for p in rows]
        if heading.startswith("四") and charts:
            body.append('<h2>图表</h2><div class="charts">')
            body += [f'<img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                     for name, png in charts]
            body.append("</div>")
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(c.title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
