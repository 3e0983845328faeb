"""Similar-appeal detection: weighted character-bigram overlap, no tokenizer needed."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# Bigrams that nearly every appeal contains say nothing about the matter: they weigh little.
GENERIC = frozenset((
    "我们", "我司", "公司", "企业", "有限", "责任", "问题", "希望", "能否", "能够", "可以", "一下",
    "目前", "已经", "没有", "什么", "怎么", "如何", "请问", "帮忙", "解决", "相关", "部门", "情况",
    "反映", "需要", "进行", "现在", "还是", "这个", "那个", "一个", "今年", "去年", "时间", "一直",
    "多次", "至今", "导致", "影响", "严重", "谢谢", "感谢", "领导", "政府", "县里", "请求", "协调",
    "处理", "尽快", "及时", "非常", "比较", "因为", "所以", "但是", "而且", "如果", "是否", "以及",
    "关于", "补充", "说明", "另外", "还有", "之前", "上次", "再次", "继续", "仍然", "依然", "还没",
    "没人", "答复", "回复", "联系", "电话", "了解", "知道", "不能", "不是",
))
GENERIC_WEIGHT = 0.15
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z0-9]+")


def fingerprint(text: str) -> Counter[str]:
    """Character bigrams of the Chinese runs (and whole latin/digit runs such as model numbers)."""
    grams: Counter[str] = Counter()
    for run in _CJK_RUN.findall(text):
        if run.isascii():
            if len(run) >= 3:
                grams[run.lower()] += 1
            continue
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return grams


def _weight(gram: str) -> float:
    return GENERIC_WEIGHT if gram in GENERIC else 1.0


def similarity(a: Counter[str] | str, b: Counter[str] | str) -> float:
    """0..1: weighted overlap of two fingerprints, measured against the shorter text.

    A short supplement ("变压器还是没装上") should match the long appeal it belongs to, so the
    overlap is divided by the smaller side (a soft containment), damped by sqrt of the length ratio
    so that a three-word text does not match everything that contains its words.
    """
    fa = fingerprint(a) if isinstance(a, str) else a
    fb = fingerprint(b) if isinstance(b, str) else b
    if not fa or not fb:
        return 0.0
    if len(fa) > len(fb):
        fa, fb = fb, fa
    inter = sum(min(n, fb.get(g, 0)) * _weight(g) for g, n in fa.items())
    small = sum(n * _weight(g) for g, n in fa.items())
    big = sum(n * _weight(g) for g, n in fb.items())
    if small <= 0:
        return 0.0
    containment = inter / small
    damp = math.sqrt(min(1.0, small / 8.0))  # fewer than ~8 meaningful bigrams: weaker evidence
    cosine_like = inter / math.sqrt(small * big)
    return round(max(cosine_like, containment * damp * 0.85), 4)


@dataclass(frozen=True)
class Match:
    key: str
    score: float


def rank_similar(text: str, candidates: Sequence[tuple[str, str]], threshold: float = 0.0) -> list[Match]:
    """Candidates (key, text) at or above threshold, most similar first."""
    fp = fingerprint(text)
    out = [Match(key, similarity(fp, fingerprint(other))) for key, other in candidates]
    return sorted((m for m in out if m.score >= threshold), key=lambda m: -m.score)


def group_similar(items: Sequence[tuple[str, str, str]], threshold: float,
                  touching: set[str] | None = None) -> list[list[str]]:
    """Groups of keys whose texts are alike, from items (key, owner, text); only groups of 2+ owners.

    Single-link: two items join when their similarity reaches threshold and their owners differ
    (one enterprise's repeated messages are supplements, not a common problem). With `touching`, only
    the groups containing one of those keys, found by exploring from them: the dispatcher's pool
    shows 30 appeals, and comparing every open appeal with every other took seconds at 1,000.
    """
    fps = [fingerprint(text) for _, _, text in items]
    n = len(items)
    starts = range(n) if touching is None else [i for i in range(n) if items[i][0] in touching]
    seen: set[int] = set()
    groups: list[list[int]] = []
    for start in starts:
        if start in seen:
            continue
        seen.add(start)
        members, frontier = [start], [start]
        while frontier:  # every item reachable through alike pairs of different owners
            i = frontier.pop()
            for j in range(n):
                if j not in seen and items[i][1] != items[j][1] and similarity(fps[i], fps[j]) >= threshold:
                    seen.add(j)
                    members.append(j)
                    frontier.append(j)
        groups.append(sorted(members))
    out = [[items[i][0] for i in members] for members in groups if len({items[i][1] for i in members}) >= 2]
    return sorted(out, key=lambda g: (-len(g), g))
