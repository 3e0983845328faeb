"""Learning weighted keyword rules from labelled texts, and measuring rules on labelled texts."""

from __future__ import annotations

import csv
import json
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from nlp.rules import KeywordRules, RuleTagger, Scoring, SubstringMatcher
from nlp.tokenizer import Tokenizer

_NOT_A_WORD = re.compile(r"^[\W\d_a-zA-Z]+$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


# One-character terms allowed as keywords: each names a whole subject on its own (measured in docs/tags.md).
ONE_CHAR_TERMS = ("税", "电", "水", "气", "路", "车", "房", "医", "药", "学", "校", "污", "臭", "噪")


@dataclass(frozen=True)
class LearnOptions:
    """Knobs of the learner; the defaults are the ones measured in docs/tags.md."""

    min_df: int = 2  # a candidate word must occur in this many training texts
    max_word_chars: int = 8  # longest candidate (a jieba token or two adjacent tokens joined)
    single_chars: bool = False  # every single Chinese character a candidate (old, unreadable rules)
    one_char_terms: tuple[str, ...] = ONE_CHAR_TERMS  # the few single characters allowed anyway
    head_chars: int = 30  # the subject line: words there count (1 + head_boost) times
    head_boost: float = 2.0
    max_keywords: int = 150  # words per category (keywords + negative words); 0 = every word the lasso keeps
    l1: float = 1e-4  # lasso strength of the selecting fit: how much a word must help to be worth a place
    l2: float = 1e-5  # ridge strength of both fits
    iterations: int = 400  # accelerated gradient steps per fit
    min_weight: float = 0.01  # written weights below this (after scaling) are dropped
    own_share: float = 0.3  # a fragment of a longer kept word stays only if this share of its texts lack the longer
    calibration_folds: int = 3  # inner folds whose held-out scores fit the temperature (0: no calibration)
    seed: int = 0


@dataclass
class Example:
    text: str
    label: str


def read_csv(path: str | Path, text_column: str = "text", label_column: str = "label") -> list[Example]:
    """Rows with a non-empty text and label; raises KeyError naming a missing column."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        for col in (text_column, label_column):
            if col not in columns:
                raise KeyError(f"column {col!r} not in {path} (columns: {', '.join(columns)})")
        out = []
        for row in reader:
            text, label = (row[text_column] or "").strip(), (row[label_column] or "").strip()
            if text and label:
                out.append(Example(text, label))
    return out


def candidate_words(tokens: Sequence[str], options: LearnOptions) -> set[str]:
    """jieba tokens of 2+ characters and two such neighbours joined (phrases), no digits/latin/punctuation."""
    words = {t for t in tokens if len(t) >= 2 and not _NOT_A_WORD.match(t)}
    for a, b in pairwise(tokens):
        joined = a + b
        # two whole words make a phrase (垃圾+分类); a particle or single character glued on (的+路灯) does not
        if len(joined) <= options.max_word_chars and min(len(a), len(b)) >= 2 \
                and not _NOT_A_WORD.match(a) and not _NOT_A_WORD.match(b):
            words.add(joined)
    return words


@dataclass
class Corpus:
    """Texts tokenized once; `candidates[i]` are the words text i proposes to the vocabulary."""

    examples: list[Example]
    candidates: list[set[str]] = field(default_factory=list)
    _matcher: SubstringMatcher | None = field(default=None, repr=False)
    _present: dict[tuple[int, int], tuple[set[str], set[str]]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, examples: list[Example], tokenizer: Tokenizer, options: LearnOptions) -> Corpus:
        cands = []
        for ex in examples:
            words = candidate_words(tokenizer.tokens(ex.text), options)
            if options.single_chars:
                words.update(_CJK.findall(ex.text))
            else:
                words.update(c for c in options.one_char_terms if c in ex.text)
            cands.append(words)
        return cls(examples, cands)

    def present(self, i: int, head_chars: int) -> tuple[set[str], set[str]]:
        """Candidate words of the whole corpus found in text i (and in its head); computed once, cached."""
        if self._matcher is None:
            self._matcher = SubstringMatcher(set().union(*self.candidates) if self.candidates else ())
        key = (i, head_chars)
        hit = self._present.get(key)
        if hit is None:
            text = self.examples[i].text
            hit = self._present[key] = (self._matcher.find(text), self._matcher.find(text, head_chars))
        return hit


@dataclass
class _Model:
    """Fitted weights before they are written: per label, weight of each vocabulary word (0 = not its word)."""

    labels: list[str]
    vocab: list[str]
    weights: Any  # labels × vocab, already multiplied by the NB ratio and idf (what the file holds)
    priors: Any
    idf: Any


def _fit_model(corpus: Corpus, idx: list[int], opts: LearnOptions) -> _Model:
    """Choose each label's words and fit their weights (see docs/tags.md, "学习")."""
    import numpy as np

    labels = sorted({corpus.examples[i].label for i in idx})
    df = Counter(w for i in idx for w in corpus.candidates[i])
    vocab = sorted(w for w, n in df.items() if n >= opts.min_df)
    present = [corpus.present(i, opts.head_chars) for i in idx]
    known = set(vocab)
    present = [(p & known, h & known) for p, h in present]
    # document frequency of what the tagger will actually see (substrings), not of the tokens
    sdf = Counter(w for p, _ in present for w in p)
    y = np.array([labels.index(corpus.examples[i].label) for i in idx])

    def idf_of(words: list[str]):  # type: ignore[no-untyped-def]
        return np.log((1 + len(idx)) / (1 + np.array([sdf[w] for w in words], dtype=float))) + 1.0

    # 1. lasso over every candidate: a word earns a place in a label's table only if it helps that label
    idf = idf_of(vocab)
    weights, _ = _softmax_regression(_Design(present, vocab, idf, opts.head_boost), y, len(labels),
                                     opts.l1, opts.l2, opts.iterations)
    orders = [[vocab[j] for j in np.argsort(-np.abs(weights[:, c]), kind="stable") if weights[j, c] != 0]
              for c in range(len(labels))]
    limit = opts.max_keywords or max(map(len, orders), default=0)
    dropped = _fragments([set(o[:2 * limit]) for o in orders], present, opts.own_share) if opts.own_share else set()
    tables = [[w for w in o if w not in dropped][:limit] for o in orders]
    # 2. refit on the kept words only, each label weighing only its own table (what the file will hold)
    words = sorted(set().union(*tables))
    index = {w: j for j, w in enumerate(words)}
    mask = np.zeros((len(words), len(labels)))
    for c, table in enumerate(tables):
        mask[[index[w] for w in table], c] = 1.0
    idf = idf_of(words)
    weights, priors = _softmax_regression(_Design(present, words, idf, opts.head_boost), y, len(labels),
                                          0.0, opts.l2, opts.iterations, mask)
    return _Model(labels, words, (weights * idf[:, None]).T, priors, idf)


class _Design:
    """Texts × words as sparse rows (presence × head boost × idf, L2-normalised: what the tagger computes).

    Products with dense weight matrices use np.add.reduceat over row- and column-sorted copies (C speed
    without scipy), in float32: gradients need no more.
    """

    def __init__(self, present: list[tuple[set[str], set[str]]], words: list[str], idf, head_boost: float) -> None:  # type: ignore[no-untyped-def]
        import numpy as np

        index = {w: j for j, w in enumerate(words)}
        cols: list[int] = []
        vals = []
        lengths = []
        for p, h in present:
            js = sorted(index[w] for w in p if w in index)
            v = np.array([1.0 + (head_boost if words[j] in h else 0.0) for j in js]) * idf[js] if js else np.zeros(0)
            vals.append(v / (math.sqrt(float((v * v).sum())) or 1.0))
            cols += js
            lengths.append(len(js))
        self.n, self.v = len(present), len(words)
        self.cols = np.array(cols, dtype=np.int64)
        self.vals = (np.concatenate(vals) if vals else np.zeros(0)).astype(np.float32)
        self.rows = np.repeat(np.arange(self.n), lengths)
        row_lengths = np.array(lengths, dtype=np.int64)
        self._row_starts, self._rows_hit = (np.cumsum(row_lengths) - row_lengths), row_lengths > 0
        by_col = np.argsort(self.cols, kind="stable")
        self._c_rows, self._c_vals = self.rows[by_col], self.vals[by_col]
        col_lengths = np.bincount(self.cols, minlength=self.v)
        self._col_starts, self._cols_hit = (np.cumsum(col_lengths) - col_lengths), col_lengths > 0

    def times(self, w):  # type: ignore[no-untyped-def]
        """X · w for a words × labels matrix."""
        import numpy as np

        out = np.zeros((self.n, w.shape[1]))
        if len(self.cols):
            products = self.vals[:, None] * w.astype(np.float32)[self.cols]
            out[self._rows_hit] = np.add.reduceat(products, self._row_starts[self._rows_hit])
        return out

    def transposed_times(self, g):  # type: ignore[no-untyped-def]
        """Xᵀ · g for a texts × labels matrix."""
        import numpy as np

        out = np.zeros((self.v, g.shape[1]))
        if len(self.cols):
            products = self._c_vals[:, None] * g.astype(np.float32)[self._c_rows]
            out[self._cols_hit] = np.add.reduceat(products, self._col_starts[self._cols_hit])
        return out


def _softmax_regression(x: _Design, y, k: int, l1: float, l2: float, iterations: int, mask=None):  # type: ignore[no-untyped-def]
    """Multinomial logistic regression, elastic-net penalty, by accelerated proximal gradient (FISTA).

    Softmax scores are unchanged by adding one constant to a word's weight in every label, so the lasso
    puts a word only into the tables it tells apart. Rows have unit length: step 1 is safe (Lipschitz ≤ 1).
    `mask` (words × labels, 0/1) keeps weights outside a label's table at zero.
    """
    import numpy as np

    onehot = np.zeros((x.n, k))
    onehot[np.arange(x.n), y] = 1.0
    w = np.zeros((x.v, k))
    b = np.zeros(k)
    wz, bz, t = w, b, 1.0
    for _ in range(iterations):
        z = x.times(wz) + bz
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / max(x.n, 1)
        w_next = wz - (x.transposed_times(g) + l2 * wz)
        b_next = bz - g.sum(0)
        if l1:
            w_next = np.sign(w_next) * np.maximum(np.abs(w_next) - l1, 0.0)
        if mask is not None:
            w_next *= mask
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        wz = w_next + (t - 1) / t_next * (w_next - w)
        bz = b_next + (t - 1) / t_next * (b_next - b)
        w, b, t = w_next, b_next, t_next
    return w, b


def _fragments(masks: list[set[str]], present: list[tuple[set[str], set[str]]], own_share: float) -> set[str]:
    """Words inside a longer candidate word that seldom occur without it: fragments, not kept."""
    kept = set().union(*masks)
    inside = SubstringMatcher(kept)
    longer: dict[str, list[str]] = {}
    for v in kept:
        for w in inside.find(v):
            if w != v:
                longer.setdefault(w, []).append(v)
    if not longer:
        return set()
    alone: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p, _ in present:
        for w in longer.keys() & p:
            total[w] += 1
            if not any(v in p for v in longer[w]):
                alone[w] += 1
    return {w for w in longer if alone[w] < own_share * total[w]}


def _raw_scores(model: _Model, present: list[tuple[set[str], set[str]]], head_boost: float):  # type: ignore[no-untyped-def]
    """labels × texts scores exactly as RuleTagger computes them from the written file (before scaling)."""
    import numpy as np

    index = {w: j for j, w in enumerate(model.vocab)}
    out = np.zeros((len(present), len(model.labels)))
    for i, (p, h) in enumerate(present):
        js = [index[w] for w in p if w in index]
        if not js:
            out[i] = model.priors
            continue
        tf = np.array([1.0 + (head_boost if model.vocab[j] in h else 0.0) for j in js])
        n = math.sqrt(float(((tf * model.idf[js]) ** 2).sum())) or 1.0
        out[i] = model.priors + (model.weights[:, js] @ tf) / n
    return out


def fit_temperature(scores, golds) -> float:  # type: ignore[no-untyped-def]
    """Temperature T minimising the log-loss of softmax(scores / T) (golden-section search on log T)."""
    import numpy as np

    def nll(log_t: float) -> float:
        z = scores / math.exp(log_t)
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return -float(logp[np.arange(len(golds)), golds].mean())

    lo, hi = -8.0, 4.0
    g = (math.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
    return math.exp((lo + hi) / 2)


def _calibrate(corpus: Corpus, idx: list[int], opts: LearnOptions, labels: list[str]) -> float | None:
    """Fit the temperature on held-out scores of inner folds of the training texts (raw score units)."""
    import numpy as np

    k = opts.calibration_folds
    golds = [corpus.examples[i].label for i in idx]
    if k < 2 or len(idx) < 5 * k or min(Counter(golds).values()) < k:
        return None
    inner = replace(opts, calibration_folds=0)
    scores, ys = [], []
    for fold in stratified_folds(golds, k, opts.seed + 1):
        held = set(fold)
        model = _fit_model(corpus, [i for j, i in enumerate(idx) if j not in held], inner)
        if model.labels != labels:
            return None
        test = [idx[j] for j in fold]
        scores.append(_raw_scores(model, [corpus.present(i, opts.head_chars) for i in test], opts.head_boost))
        ys += [labels.index(corpus.examples[i].label) for i in test]
    return fit_temperature(np.vstack(scores), np.array(ys))


def learn_rules(corpus: Corpus, indices: Sequence[int] | None = None, options: LearnOptions | None = None,
                base: KeywordRules | None = None, source: str = "") -> KeywordRules:
    """Fit per-category keyword weights (lasso-selected multinomial logistic regression, docs/tags.md).

    Score of category c for a text = prior_c + Σ weight_c(word)·(1 + head_boost if in the head) / norm,
    over the vocabulary words present as substrings: exactly what RuleTagger computes from the file.
    Probability = softmax(score / temperature), the temperature fitted on held-out inner folds.
    """
    import numpy as np  # learning only: the server never imports this module

    opts = options or LearnOptions()
    idx = list(range(len(corpus.examples))) if indices is None else list(indices)
    if not idx:
        raise ValueError("no labelled texts to learn from")
    model = _fit_model(corpus, idx, opts)
    labels, vocab, weights, priors, idf = model.labels, model.vocab, model.weights, model.priors, model.idf
    temperature = _calibrate(corpus, idx, opts, labels)
    # scale so the strongest words weigh about 10: easy to read and to set hand-written weights beside
    scale = 10.0 / (float(np.abs(weights).max()) or 1.0)
    cats: dict[str, dict[str, float]] = {}
    negs: dict[str, dict[str, float]] = {}
    for c, label in enumerate(labels):
        pos, neg = {}, {}
        for j in np.argsort(-weights[c]):
            w = float(weights[c, j]) * scale
            if w >= opts.min_weight:
                pos[vocab[j]] = round(w, 3)
            elif w <= -opts.min_weight:
                neg[vocab[j]] = round(-w, 3)
        cats[label] = pos
        negs[label] = dict(sorted(neg.items(), key=lambda kv: -kv[1]))
    used = {w for t in (*cats.values(), *negs.values()) for w in t}
    learned = KeywordRules(
        version="learned-" + datetime.now(UTC).strftime("%Y%m%d%H%M"), categories=cats, negatives=negs,
        priors={label: round(float(priors[c]) * scale, 4) for c, label in enumerate(labels)},
        idf={w: round(float(idf[j]), 3) for j, w in enumerate(vocab) if w in used},
        scoring=Scoring(match="substring", head_chars=opts.head_chars, head_boost=opts.head_boost, normalize=True,
                        temperature=round(temperature * scale, 4) if temperature else 0.0),
        meta={"source": source, "texts": len(idx), "labels": len(labels), "vocabulary": len(used),
              "max_keywords": opts.max_keywords,
              "method": "lasso-selected softmax regression over whole-word substring keywords (docs/tags.md)"},
    )
    if base is not None:
        learned = learned.merge(base)
        learned.version = learned.version.split("+")[0]
    return learned


def _key(word: str) -> str:
    return json.dumps(word, ensure_ascii=False)


def _num(x: float) -> str:
    return repr(round(float(x), 4))


def dump_rules(rules: KeywordRules, header: str = "") -> str:
    """TOML text of a rule set: strongest words first in every category, one word per line."""
    out: list[str] = []
    if header:
        out += [f"# {line}" if line else "#" for line in header.splitlines()]
    out.append(f"version = {_key(rules.version)}")
    if rules.meta:
        out += ["", "[learning]"] + [f"{k} = {_key(v) if isinstance(v, str) else v}" for k, v in rules.meta.items()]
    sc = rules.scoring
    out += ["", "[scoring]", f"match = {_key(sc.match)}", f"head_chars = {sc.head_chars}",
            f"head_boost = {_num(sc.head_boost)}", f"normalize = {'true' if sc.normalize else 'false'}"]
    if sc.temperature:
        out.append(f"temperature = {_num(sc.temperature)}")
    if rules.user_words:
        out += ["", "[dictionary]", "words = [" + ", ".join(_key(w) for w in rules.user_words) + "]"]
    for section, tables, default in (("types", rules.types, rules.default_type),
                                     ("levels", rules.levels, rules.default_level),
                                     ("difficulty", rules.difficulties, rules.default_difficulty)):
        if not tables:
            continue
        out += ["", f"[{section}]", f"default = {_key(default)}"]
        if section in rules.hint_temperatures:
            out.append(f"temperature = {_num(rules.hint_temperatures[section])}")
        for name, table in tables.items():
            out += [f"[{section}.{_key(name)}.keywords]"] + [f"{_key(w)} = {_num(x)}" for w, x in table.items()]
    for label, table in rules.categories.items():
        out += ["", f"[categories.{_key(label)}]"]
        if label in rules.priors:
            out.append(f"prior = {_num(rules.priors[label])}")
        for t in rules.together.get(label, []):
            out.append(f"together = [{{ words = [{', '.join(_key(w) for w in t.words)}], weight = {_num(t.weight)} }}]")
        out.append(f"[categories.{_key(label)}.keywords]")
        out += [f"{_key(w)} = {_num(x)}" for w, x in sorted(table.items(), key=lambda kv: -kv[1])]
        if rules.negatives.get(label):
            out.append(f"[categories.{_key(label)}.negative]")
            out += [f"{_key(w)} = {_num(x)}" for w, x in sorted(rules.negatives[label].items(), key=lambda kv: -kv[1])]
    if rules.idf:
        out += ["", "# How rare each word is (inverse document frequency); used only for normalize = true.", "[idf]"]
        out += [f"{_key(w)} = {_num(x)}" for w, x in sorted(rules.idf.items())]
    return "\n".join(out) + "\n"


def diff_rules(old: KeywordRules, new: KeywordRules, *, most: int = 15, ratio: float = 0.25) -> list[str]:
    """What changed between two rule files, in words a person reads (one line per finding)."""
    lines: list[str] = []
    added = [c for c in new.categories if c not in old.categories]
    removed = [c for c in old.categories if c not in new.categories]
    if added:
        lines.append("新增类别：" + "、".join(added))
    if removed:
        lines.append("删除类别：" + "、".join(removed))
    if old.scoring != new.scoring:
        lines.append(f"打分方式：{old.scoring} → {new.scoring}")

    def listed(items: list[str]) -> str:
        return "、".join(items[:most]) + (f" 等 {len(items)} 个" if len(items) > most else "")

    for label in (c for c in new.categories if c in old.categories):
        for name, a, b in (("关键词", old.categories[label], new.categories[label]),
                           ("否定词", old.negatives.get(label, {}), new.negatives.get(label, {}))):
            gained = [f"{w}（{x:g}）" for w, x in sorted(b.items(), key=lambda kv: -kv[1]) if w not in a]
            lost = [w for w, _ in sorted(a.items(), key=lambda kv: -kv[1]) if w not in b]
            moved = [f"{w} {a[w]:g}→{x:g}" for w, x in sorted(b.items(), key=lambda kv: -kv[1])
                     if w in a and abs(x - a[w]) > ratio * max(abs(a[w]), 1e-9)]
            if gained:
                lines.append(f"「{label}」新增{name}：{listed(gained)}")
            if lost:
                lines.append(f"「{label}」删除{name}：{listed(lost)}")
            if moved:
                lines.append(f"「{label}」{name}权重变化超过 {ratio:.0%}：{listed(moved)}")
        if old.priors.get(label, 0.0) != new.priors.get(label, 0.0):
            lines.append(f"「{label}」先验分：{old.priors.get(label, 0.0):g} → {new.priors.get(label, 0.0):g}")
    return lines or ["两个规则文件的类别、关键词和权重相同。"]


# ---- evaluation -------------------------------------------------------------------------------


@dataclass
class Report:
    """What `qihu tags eval` prints: overall and per-class quality, confusion counts and throughput."""

    n: int
    accuracy: float
    macro_f1: float
    top3_accuracy: float
    per_class: dict[str, dict[str, float]]
    confusion: dict[str, dict[str, int]]
    texts_per_second: float
    chars_per_second: float
    folds: int = 0
    extra: dict = field(default_factory=dict)

    def add_shape(self, mean_keywords: float, single_chars: int) -> None:
        self.extra["mean_keywords_per_category"] = round(mean_keywords, 1)
        self.extra["single_char_keywords"] = single_chars

    def add_calibration(self, confidences: Sequence[float], correct: Sequence[bool]) -> None:
        cal = calibration(confidences, correct)
        self.extra.update(cal or {"ece": None, "accuracy_at_80_coverage": None, "reliability": []})

    def as_json(self) -> dict:
        return {**self.extra, "n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
                "top3_accuracy": round(self.top3_accuracy, 4), "folds": self.folds,
                "per_class": self.per_class, "confusion": self.confusion,
                "texts_per_second": round(self.texts_per_second, 1),
                "chars_per_second": round(self.chars_per_second)}

    def _extra_lines(self) -> list[str]:
        x = self.extra
        lines = []
        if "mean_keywords_per_category" in x:
            lines.append(f"keywords per category: {x['mean_keywords_per_category']:.1f}   "
                         f"single-character keywords: {x['single_char_keywords']}")
        if x.get("ece") is not None:
            lines.append(f"calibration: ECE {x['ece']:.4f}   accuracy at 80 % coverage "
                         f"{x['accuracy_at_80_coverage']:.4f} (probability ≥ {x['threshold_at_80_coverage']:.2f})")
            lines.append("reliability (probability bin: n, mean probability, accuracy): " + "; ".join(
                f"{r['from']:.1f}–{r['to']:.1f}: {r['n']}, {r['confidence']:.3f}, {r['accuracy']:.3f}"
                for r in x["reliability"]))
        return lines

    def as_text(self) -> str:
        lines = [f"texts: {self.n}" + (f"  ({self.folds}-fold cross-validation)" if self.folds else ""),
                 f"accuracy: {self.accuracy:.4f}   macro-F1: {self.macro_f1:.4f}   top-3: {self.top3_accuracy:.4f}",
                 f"throughput: {self.texts_per_second:,.0f} texts/s, {self.chars_per_second:,.0f} chars/s (one core)",
                 *self._extra_lines(),
                 "", f"{'category':<16}{'precision':>10}{'recall':>8}{'F1':>8}{'n':>6}"]
        for label, m in self.per_class.items():
            lines.append(f"{label:<16}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{int(m['support']):>6}")
        labels = list(self.confusion)
        lines += ["", "confusion (rows: true label, columns: predicted, in the order of the rows)"]
        for i, label in enumerate(labels):
            lines.append(f"{i + 1:>2} {label:<14}" + "".join(f"{self.confusion[label].get(p, 0):>6}" for p in labels))
        return "\n".join(lines)


def score(golds: Sequence[str], rankings: Sequence[Sequence[str]], labels: Sequence[str] | None = None,
          seconds: float = 0.0, chars: int = 0, folds: int = 0) -> Report:
    """Metrics from gold labels and ranked predictions (best first)."""
    names = list(labels) if labels is not None else sorted(set(golds))
    for r in rankings:
        for p in r[:1]:
            if p not in names:
                names.append(p)
    n = len(golds)
    top1 = [r[0] if r else "" for r in rankings]
    correct = sum(g == p for g, p in zip(golds, top1, strict=True))
    top3 = sum(g in r[:3] for g, r in zip(golds, rankings, strict=True))
    confusion = {g: dict.fromkeys(names, 0) for g in names}
    for g, p in zip(golds, top1, strict=True):
        if p:
            confusion.setdefault(g, dict.fromkeys(names, 0))[p] += 1
    per_class = {}
    f1s = []
    for label in names:
        tp = confusion.get(label, {}).get(label, 0)
        predicted = sum(row.get(label, 0) for row in confusion.values())
        support = sum(1 for g in golds if g == label)
        if support == 0 and predicted == 0:
            continue
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per_class[label] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": support}
        if support:
            f1s.append(f)
    return Report(n, correct / n if n else 0.0, sum(f1s) / len(f1s) if f1s else 0.0, top3 / n if n else 0.0,
                  per_class, {g: row for g, row in confusion.items() if g in per_class},
                  n / seconds if seconds else 0.0, chars / seconds if seconds else 0.0, folds)


def timed_rankings(tagger: RuleTagger, texts: Sequence[str]) -> tuple[list[list[str]], float]:
    """Rank every text (after loading the tokenizer if the rules need it) and time only the ranking."""
    if tagger.rules.scoring.match == "token":
        tagger.tokenizer.load()
    start = time.perf_counter()
    out = [tagger.rank(t) for t in texts]
    return out, time.perf_counter() - start


def evaluate(rules: KeywordRules, examples: Sequence[Example], tokenizer: Tokenizer | None = None) -> Report:
    tagger = RuleTagger(rules, tokenizer)
    rankings, seconds = timed_rankings(tagger, [e.text for e in examples])
    golds = [e.label for e in examples]
    report = score(golds, rankings, sorted(set(golds) | set(rules.categories)), seconds,
                   sum(len(e.text) for e in examples))
    report.add_shape(keywords_per_category(rules), single_char_keywords(rules))
    texts = [e.text for e in examples]
    report.add_calibration(_top_probabilities(tagger, texts, rankings),
                           [g == r[0] if r else False for g, r in zip(golds, rankings, strict=True)])
    return report


def stratified_folds(labels: Sequence[str], k: int, seed: int = 0) -> list[list[int]]:
    """k folds with each label spread evenly; deterministic for a seed."""
    by: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by[label].append(i)
    folds: list[list[int]] = [[] for _ in range(k)]
    rnd = random.Random(seed)
    offset = 0
    for _, members in sorted(by.items()):
        rnd.shuffle(members)
        for j, i in enumerate(members):
            folds[(j + offset) % k].append(i)
        offset += len(members)
    return folds


def cross_validate(examples: list[Example], k: int, options: LearnOptions | None = None,
                   tokenizer: Tokenizer | None = None, base: KeywordRules | None = None,
                   progress: Callable[[str], None] | None = None, corpus: Corpus | None = None) -> Report:
    """Learn on k-1 folds, rank the held-out fold with the written-and-reread rules, pool all folds."""
    opts = options or LearnOptions()
    tok = tokenizer or Tokenizer(base.vocabulary() if base else ())
    corpus = corpus or Corpus.build(examples, tok, opts)
    labels = [e.label for e in examples]
    golds: list[str] = []
    rankings: list[list[str]] = []
    confidences: list[float] = []
    sizes: list[float] = []
    singles = 0
    seconds = 0.0
    chars = 0
    for f, test in enumerate(stratified_folds(labels, k, opts.seed)):
        held = set(test)
        train = [i for i in range(len(examples)) if i not in held]
        learned = learn_rules(corpus, train, opts, base=base)
        rules = KeywordRules.parse(dump_rules(learned))  # measure the file, not the in-memory model
        tagger = RuleTagger(rules, tok)
        texts = [examples[i].text for i in test]
        ranked, spent = timed_rankings(tagger, texts)
        confidences += _top_probabilities(tagger, texts, ranked)
        sizes.append(keywords_per_category(rules))
        singles += single_char_keywords(rules)
        rankings += ranked
        golds += [labels[i] for i in test]
        seconds += spent
        chars += sum(len(examples[i].text) for i in test)
        if progress:
            progress(f"fold {f + 1}/{k}: {sum(g == r[0] for g, r in zip(golds[-len(test):], ranked, strict=True))}"
                     f"/{len(test)} right")
    report = score(golds, rankings, sorted(set(labels)), seconds, chars, folds=k)
    report.add_shape(sum(sizes) / len(sizes), round(singles / k))
    report.add_calibration(confidences, [g == r[0] for g, r in zip(golds, rankings, strict=True)])
    return report


def _top_probabilities(tagger: RuleTagger, texts: Sequence[str], ranked: Sequence[Sequence[str]]) -> list[float]:
    out = []
    for text, ranking in zip(texts, ranked, strict=True):
        probs = tagger.probabilities(text)
        out.append(probs.get(ranking[0], float("nan")) if probs and ranking else float("nan"))
    return out


def keywords_per_category(rules: KeywordRules) -> float:
    """Mean number of words a category's tables hold (keywords + negative words)."""
    if not rules.categories:
        return 0.0
    return sum(len(rules.categories[c]) + len(rules.negatives.get(c, {})) for c in rules.categories) / len(
        rules.categories)


def single_char_keywords(rules: KeywordRules) -> int:
    """Distinct one-character words in the category tables."""
    return len({w for t in (*rules.categories.values(), *rules.negatives.values()) for w in t if len(w) == 1})


def calibration(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> dict:
    """Expected calibration error, a reliability table and accuracy at 80 % coverage (most confident first)."""
    pairs = [(p, ok) for p, ok in zip(confidences, correct, strict=True) if p == p]
    if not pairs:
        return {}
    table = []
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [(p, ok) for p, ok in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not members:
            continue
        conf = sum(p for p, _ in members) / len(members)
        acc = sum(ok for _, ok in members) / len(members)
        ece += len(members) / len(pairs) * abs(conf - acc)
        table.append({"from": round(lo, 2), "to": round(hi, 2), "n": len(members),
                      "confidence": round(conf, 4), "accuracy": round(acc, 4)})
    ordered = sorted(pairs, key=lambda x: -x[0])
    covered = ordered[: max(1, round(0.8 * len(ordered)))]
    return {"ece": round(ece, 4), "reliability": table,
            "accuracy_at_80_coverage": round(sum(ok for _, ok in covered) / len(covered), 4),
            "threshold_at_80_coverage": round(covered[-1][0], 4)}
