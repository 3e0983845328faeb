"""Measuring keyword rules on labelled texts: accuracy, macro-F1, top-3, calibration, cross-validation."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from nlp.learn import Corpus, Example, LearnOptions, learn_rules, stratified_folds
from nlp.rules import KeywordRules, RuleTagger
from nlp.rules_toml import dump_rules
from nlp.tokenizer import Tokenizer


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
