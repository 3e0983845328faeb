"""Charts for the HTML report: matplotlib (Agg backend) with a CJK font, as PNG bytes."""

from __future__ import annotations

import io
import logging
from functools import cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

from bot.reports.content import ReportContent, unit_rows

log = logging.getLogger(__name__)
logging.getLogger("matplotlib.category").setLevel(logging.WARNING)  # period labels look like dates
CJK_HINTS = ("NotoSansCJK", "NotoSansSC", "SourceHanSans", "wqy-microhei", "wqy-zenhei", "NotoSerifCJK")


@cache
def cjk_font() -> str | None:
    """Register an installed CJK font (Debian: fonts-noto-cjk) with matplotlib; its family name, or None."""
    files = font_manager.findSystemFonts()
    for hint in CJK_HINTS:
        for path in sorted(files):
            if hint.lower() in path.lower().replace("-", "").replace("_", "") or hint in path:
                if "Bold" in path:
                    continue
                font_manager.fontManager.addfont(path)
                name = font_manager.FontProperties(fname=path).get_name()
                plt.rcParams["font.family"] = [name, "sans-serif"]
                plt.rcParams["axes.unicode_minus"] = False
                return name
    log.warning("no CJK font found: install fonts-noto-cjk, or chart labels will show as boxes")
    return None


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def unit_bars(c: ReportContent) -> list[tuple[str, float, str]]:
    """(label, index, colour) of every unit the table lists with an index, ranked ones first; those
    below the ranking sample are grey and marked, not left out."""
    ranked = {f.label for f in c.ranked}
    small = sorted((f for f in unit_rows(c.kpi) if f.index is not None and f.label not in ranked),
                   key=lambda f: (-(f.index or 0), f.label))
    return [(f.label if f.label in ranked else f"{f.label}（样本少）", f.index or 0,
             "#c0392b" if f in c.black else "#27ae60" if f in c.red else "#5b8ff9" if f.label in ranked
             else "#b0b0b0") for f in [*c.ranked, *small]]


def unit_index_chart(c: ReportContent) -> bytes | None:
    bars = unit_bars(c)[:40]
    if not bars:
        return None
    cjk_font()
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(bars) + 1.2))
    labels = [label for label, _, _ in bars][::-1]
    values = [value for _, value, _ in bars][::-1]
    colors = [colour for _, _, colour in bars][::-1]
    ax.barh(labels, values, color=colors)
    for y, v in enumerate(values):
        ax.text(v + 0.5, y, f"{v:.1f}", va="center", fontsize=8)
    ax.set_xlim(0, 105)
    ax.set_title("各单位企业服务指数（绿：红榜，红：黑榜，灰：样本不足不排名）")
    ax.set_xlabel("指数（0–100）")
    return _png(fig)


def level_chart(c: ReportContent) -> bytes | None:
    levels = c.kpi.total.levels
    if not sum(levels.values()):
        return None
    cjk_font()
    names = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    values = [levels[5], levels[4], levels[3], levels[2], levels[1]]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(names, values, color=["#1a9850", "#91cf60", "#d9ef8b", "#fc8d59", "#d73027"])
    for x, v in enumerate(values):
        ax.text(x, v, str(v), ha="center", va="bottom", fontsize=8)
    ax.set_title("企业评价等级分布（有效评价，第 1 轮）")
    ax.set_ylabel("件数")
    return _png(fig)


def category_chart(c: ReportContent) -> bytes | None:
    cats = sorted(c.kpi.by_category.values(), key=lambda f: -f.received)[:10]
    if not cats:
        return None
    cjk_font()
    fig, ax1 = plt.subplots(figsize=(8, 3.6))
    names = [f.label for f in cats]
    ax1.bar(names, [f.received for f in cats], color="#5b8ff9")
    ax1.set_ylabel("受理件数")
    ax1.tick_params(axis="x", rotation=35, labelsize=8)
    ax2 = ax1.twinx()
    ax2.plot(names, [f.satisfaction.pct or 0 for f in cats], color="#e8684a", marker="o", label="满意率")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("满意率（%）")
    ax1.set_title("问题类别：受理件数与满意率")
    return _png(fig)


def trend_chart(c: ReportContent) -> bytes | None:
    parts = [f for f in sorted(c.kpi.by_part.values(), key=lambda f: f.label) if f.received or f.resolved]
    if len(parts) < 2:
        return None
    cjk_font()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = [f.label for f in parts]
    for attr, label in (("on_time", "按时办结率"), ("satisfaction", "满意率"), ("solved", "解决率")):
        values = [getattr(f, attr).pct for f in parts]
        ax.plot(names, [float("nan") if v is None else v for v in values], marker="o", label=label)
    ax.set_ylim(0, 105)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("期内走势")
    return _png(fig)


def all_charts(c: ReportContent) -> list[tuple[str, bytes]]:
    out = []
    for name, fn in (("units", unit_index_chart), ("levels", level_chart), ("categories", category_chart),
                     ("trend", trend_chart)):
        png = fn(c)
        if png:
            out.append((name, png))
    return out
