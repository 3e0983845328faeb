"""What a GB/T 36733-style service-index report says, assembled from a KpiReport (no rendering here)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot import texts
from bot.services import cases as case_library
from bot.services.cases import ReportCases
from bot.services.improvement import report_candidates, threshold_findings, weak_spots
from bot.services.kpi import UNASSIGNED, Figures, KpiReport, Ratio, ranking

DIMENSIONS = {
    "satisfaction": "企业评价", "solved": "企业评价", "on_time": "企业评价", "repeat": "企业评价",
    "rectification": "企业评价", "callback": "企业评价", "grassroots": "基层评价", "third_party": "第三方评价",
}
INDICATOR_NAMES = {
    "satisfaction": "满意率", "solved": "解决率", "on_time": "按时办结率", "repeat": "重复投诉率（反向）",
    "rectification": "差评整改率", "callback": "回访满意率", "grassroots": "基层评价得分",
    "third_party": "第三方评价得分",
}
FORMULAS = {
    "satisfaction": "(非常满意+满意+基本满意) ÷ 有效评价数",
    "solved": "企业评价“已解决” ÷ 有效评价数",
    "on_time": "按期限（含批准延期）办结的主办任务 ÷ 期内到期的主办任务",
    "repeat": "100 − 重复投诉数 ÷ 期内受理数 × 100",
    "rectification": "按期整改完成的有效差评 ÷ 有效差评（已到期或已完成）",
    "callback": "回访表示满意 ÷ 期内完成回访数",
    "grassroots": "基层单位对上级服务评价的平均分（5 级 → 100/75/50/25/0）",
    "third_party": "第三方评估导入得分的平均值（0–100）",
}
EXTRA = [  # reported, not weighted
    ("满意率（严格口径）", "(非常满意+满意) ÷ 有效评价数", "satisfaction_strict"),
    ("部分解决率", "企业评价“部分解决” ÷ 有效评价数", "partly_solved"),
    ("未评价率", "评价期满未评价 ÷ 已办结（剔除评价期内待评价和无效差评）", "unrated"),
    ("重复投诉率", "重复投诉（同一企业、同一类别、前次办结后 30 日内或经确认） ÷ 期内受理数", "repeat"),
]


@dataclass
class IndicatorLine:
    dimension: str
    name: str
    formula: str
    weight: float | None  # share of the index, 0–1
    value: float | None
    sample: str


@dataclass
class ReportContent:
    kpi: KpiReport
    title: str
    indicators: list[IndicatorLine]
    red: list[Figures]
    black: list[Figures]
    ranked: list[Figures]
    positive_cases: list[dict]
    negative_cases: list[dict]
    candidates: list[tuple[str, int, float, list[str]]]  # category, count, share %, examples
    reform_tasks: list[str]
    checks: list[str]
    conclusions: list[str]
    sources: list[tuple[str, int]] = field(default_factory=list)
    # 为企办实事, 改革任务 and 薄弱环节跟进 items alive in the period (bot.services.tracked), and the
    # weak spots this period's index finds (规范 8.1: 依托指数评价分析对薄弱环节优化改进)
    tracked: list[dict] = field(default_factory=list)
    weak_spots: list[str] = field(default_factory=list)
    cases: ReportCases = field(default_factory=ReportCases)  # 判例 marked in the period, published cases


def _reason(code: str, value: float) -> str:
    return texts.IMPROVEMENT_REASON[code].format(v=value)


def _sample(r: Ratio) -> str:
    return f"{r.num}/{r.den}"


def indicator_table(k: KpiReport) -> list[IndicatorLine]:
    t = k.total
    comps = t.components()
    total_w = sum(w for _, w in k.weights) or 1.0
    samples = {"satisfaction": _sample(t.satisfaction), "solved": _sample(t.solved), "on_time": _sample(t.on_time),
               "repeat": _sample(t.repeat), "rectification": _sample(t.rectification),
               "callback": _sample(t.callback), "grassroots": f"{t.grassroots.n} 条",
               "third_party": f"{t.third_party.n} 条"}
    lines = [IndicatorLine(DIMENSIONS[key], INDICATOR_NAMES[key], FORMULAS[key], w / total_w, comps[key], samples[key])
             for key, w in k.weights]
    for name, formula, attr in EXTRA:
        r: Ratio = getattr(t, attr)
        lines.append(IndicatorLine("监测指标（不计权重）", name, formula, None, r.pct, _sample(r)))
    return lines


def build(k: KpiReport, min_sample: int, names_of_sources: dict[str, str] | None = None,
          cases: ReportCases | None = None) -> ReportContent:
    t = k.total
    ranked = ranking(k, min_sample)
    red, black = ranked[:3], list(reversed(ranked[-3:])) if len(ranked) > 3 else []
    positive, negative = case_library.candidates(k)
    received = k.rows.get("received", [])
    candidates = [(c.category, c.count, c.share, [f"重复投诉 {c.repeats} 件"] if c.repeats else [])
                  for c in report_candidates(k)]
    reform = [f"{f.label}：{'、'.join(_reason(code, v) for code, v in f.reasons)}，建议梳理流程、明确牵头单位并限期改进"
              for f in threshold_findings(k, min_sample)]
    sources = Counter(r.get("source", "") for r in received)
    checks = [
        f"诉求来源于企呼问题池（受理 {t.received} 件），评价来源于企业本人聊天身份（不经承办人转评），"
        "或服务中心调度员电话、现场回访时记录的企业评价（按来源分列："
        + "，".join(f"{s} {n} 件" for s, n in t.rating_sources.items()) + "）。",
        f"合并办理的重复件已剔除（不计入受理数）；经核实无效（误评/恶意）的评价 {t.excluded_invalid} 件"
        "已剔除，不计入任何指标。",
        f"评价期内尚待评价的 {t.pending_rating} 件不计入未评价率分母；未评价不视为满意。",
        "按时办结以主办任务为单位统计，延期经批准的按新期限计；转办、退回、提级前未超期的任务不计入原单位。",
        "第三方评价按单位和期间导入，同一单位同一期间同一来源重复导入时以最后一次为准。",
    ]
    conclusions = []
    if t.index is not None:
        conclusions.append(f"本期企业服务指数 {t.index:.1f}。")
    if t.satisfaction.pct is not None:
        conclusions.append(f"满意率 {t.satisfaction.pct}%（严格口径 {t.satisfaction_strict.pct}%），"
                           f"解决率 {t.solved.pct}%，按时办结率 {t.on_time.pct}%。")
    if t.unrated.pct is not None and t.unrated.pct > 20:
        conclusions.append(f"未评价率 {t.unrated.pct}% 偏高，应加强办结后的评价提醒。")
    if black:
        conclusions.append("排名靠后的单位：" + "、".join(f.label for f in black) + "，应对照差评标签逐项整改。")
    if candidates:
        conclusions.append(f"企业反映最集中的是“{candidates[0][0]}”（{candidates[0][1]} 件），建议列为为企办实事候选。")
    weak = [f"{f.label}：{'、'.join(_reason(code, v) for code, v in f.reasons)}" for f in weak_spots(k, min_sample)]
    return ReportContent(k, f"企业服务指数评价报告（{k.period.label}）", indicator_table(k), red, black, ranked,
                         positive, negative, candidates, reform, checks, conclusions,
                         [(names_of_sources.get(s, s) if names_of_sources else s, n) for s, n in sources.most_common()],
                         k.rows.get("improvement", []), weak, cases or ReportCases())


def unit_rows(k: KpiReport) -> list[Figures]:
    return [f for key, f in sorted(k.by_unit.items(), key=lambda kv: kv[1].label) if key != UNASSIGNED]
