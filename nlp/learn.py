"""Learning weighted keyword rules from labelled texts, and measuring rules on labelled texts."""

from __future__ import annotations

import csv
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from nlp.rules import KeywordRules, Scoring, SubstringMatcher
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
    l2: float = 1e-5  # ridge strength of the selecting fit
    iterations: int = 400  # accelerated gradient steps of the selecting fit
    refit_l2: float = 1e-4  # ridge strength of the softmax refit on the kept words
    refit_iterations: int = 800
    svm_c: float = 1.0  # cost of the NB-scaled linear SVMs of the refit
    nb_alpha: float = 1.0  # smoothing of the naive-Bayes log-count ratios
    epochs: int = 15  # dual coordinate descent passes of each SVM fit
    blend: float = 2.0  # refit weights = softmax weights + blend × NB-SVM weights (both fitted on the kept words)
    min_weight: float = 0.01  # written weights below this (after scaling) are dropped
    own_share: float = 0.1  # a fragment of a longer kept word stays only if this share of its texts lack the longer
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
    proposed = set().union(*(corpus.candidates[i] for i in idx))
    present = [corpus.present(i, opts.head_chars) for i in idx]
    # document frequency of what the tagger will actually see (substrings), not of the tokens: a word
    # jieba proposed once may occur inside other texts' tokens too (路灯 in 路灯杆)
    sdf = Counter(w for p, _ in present for w in p & proposed)
    vocab = sorted(w for w, n in sdf.items() if n >= opts.min_df)
    known = set(vocab)
    present = [(p & known, h & known) for p, h in present]
    y = np.array([labels.index(corpus.examples[i].label) for i in idx])

    def idf_of(words: list[str]):  # type: ignore[no-untyped-def]
        return np.log((1 + len(idx)) / (1 + np.array([sdf[w] for w in words], dtype=float))) + 1.0

    # 1. lasso over every candidate: a word earns a place in a label's table only if it helps that label
    x = _Design(present, vocab, idf_of(vocab), opts.head_boost)
    weights, _ = _softmax_regression(x, y, len(labels), opts.l1, opts.l2, opts.iterations)
    orders = [[vocab[j] for j in np.argsort(-np.abs(weights[:, c]), kind="stable") if weights[j, c] != 0]
              for c in range(len(labels))]
    limit = opts.max_keywords or max(map(len, orders), default=0)
    dropped = _fragments([set(o[:2 * limit]) for o in orders], present, opts.own_share) if opts.own_share else set()
    tables = [[w for w in o if w not in dropped][:limit] for o in orders]
    # 2. refit on the kept words only, each label weighing only its own table, normalised over the kept
    # words (what the file will hold): a softmax regression and the NB-SVMs again, their weights added
    words = sorted(set().union(*tables))
    index = {w: j for j, w in enumerate(words)}
    mask = np.zeros((len(words), len(labels)))
    for c, table in enumerate(tables):
        mask[[index[w] for w in table], c] = 1.0
    idf = idf_of(words)
    x = _Design(present, words, idf, opts.head_boost)
    soft, soft_priors = _softmax_regression(x, y, len(labels), 0.0, opts.refit_l2, opts.refit_iterations,
                                          mask)
    svm, svm_priors = _nb_svm(x, y, _nb_ratios(x, y, len(labels), opts.nb_alpha) * mask, opts.svm_c,
                              opts.epochs, opts.seed)
    weights = soft + opts.blend * svm
    return _Model(labels, words, (weights * idf[:, None]).T, soft_priors + opts.blend * svm_priors, idf)


def _nb_ratios(x: _Design, y, k: int, alpha: float):  # type: ignore[no-untyped-def]
    """words × labels naive-Bayes log-count ratios: how much likelier a word is in a label's texts than in the rest."""
    import numpy as np

    counts = np.zeros((x.v, k))
    np.add.at(counts, (x.cols, y[x.rows]), 1.0)
    p = counts + alpha
    q = counts.sum(1, keepdims=True) - counts + alpha
    return np.log((p / p.sum(0)) / (q / q.sum(0)))


def _nb_svm(x: _Design, y, ratios, cost: float, epochs: int, seed: int):  # type: ignore[no-untyped-def]
    """One label against the rest, for every label at once: an L2-regularised squared-hinge SVM on the features
    scaled by that label's NB ratios (NB-SVM), by dual coordinate descent (liblinear's method), bias as a feature.

    Returns words × labels weights already multiplied by the ratios (so they apply to the unscaled features),
    and the biases. A zero ratio (outside a label's table) keeps that weight at zero.
    """
    import numpy as np

    k = ratios.shape[1]
    t = np.where(y[:, None] == np.arange(k)[None, :], 1.0, -1.0)
    diag = 1.0 / (2.0 * cost)
    scaled = np.vstack([ratios, np.ones((1, k))])
    rows, values = [], []
    for i in range(x.n):
        lo, hi = x.row_bounds(i)
        ja = np.append(x.cols[lo:hi], x.v)
        rows.append(ja)
        values.append(np.append(x.vals[lo:hi], 1.0)[:, None] * scaled[ja])
    q = np.array([(v * v).sum(0) for v in values]) + diag
    w = np.zeros((x.v + 1, k))
    alpha = np.zeros((x.n, k))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(x.n):
            ja, v = rows[i], values[i]
            g = t[i] * (v * w[ja]).sum(0) - 1.0 + diag * alpha[i]
            a = np.maximum(alpha[i] - g / q[i], 0.0)
            w[ja] += v * ((a - alpha[i]) * t[i])
            alpha[i] = a
    return w[:-1] * ratios, w[-1]


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
        self._row_lengths = row_lengths
        by_col = np.argsort(self.cols, kind="stable")
        self._c_rows, self._c_vals = self.rows[by_col], self.vals[by_col]
        col_lengths = np.bincount(self.cols, minlength=self.v)
        self._col_starts, self._cols_hit = (np.cumsum(col_lengths) - col_lengths), col_lengths > 0

    def row_bounds(self, i: int) -> tuple[int, int]:
        """Slice of text i's entries in cols/vals."""
        start = int(self._row_starts[i])
        return start, start + int(self._row_lengths[i])

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
    """Fit per-category keyword weights (lasso-selected words, softmax + NB-SVM refit; docs/tags.md).

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
              "method": "lasso-selected whole-word substring keywords, softmax + NB-SVM refit (docs/tags.md)"},
    )
    if base is not None:
        learned = learned.merge(base)
        learned.version = learned.version.split("+")[0]
    return learned


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
