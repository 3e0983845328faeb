"""Keyword-rule tag suggestions: scored categories with the words that triggered them."""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import add
from pathlib import Path

from nlp.tokenizer import Tokenizer

log = logging.getLogger(__name__)
DEFAULT_RULES = Path(__file__).parent / "data" / "enterprise_rules.toml"
SUBSTRING_MIN_CHARS = 3
MATCH_MODES = ("token", "substring")
DEFAULT_CONFIDENCE = 0.6  # below this calibrated probability a suggestion is shown as uncertain
EXPLAIN_MOST = 5  # words shown as the reason of a suggestion


@dataclass(frozen=True)
class Suggestion:
    """One suggested tag, its score and the words that produced it (the explanation)."""

    label: str
    score: float
    evidence: tuple[str, ...]
    probability: float | None = None  # calibrated chance that this label is right; None: the file is not calibrated


@dataclass(frozen=True)
class Together:
    """A co-occurrence rule: when every word is present the weight is added once."""

    words: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Scoring:
    """How hits become a score; see docs/tags.md.

    match: "token" (jieba tokens; keywords of 3+ characters also as substrings) or "substring".
    head_chars/head_boost: a keyword inside the first head_chars characters (the subject line)
    counts (1 + head_boost) times. normalize: divide by the length of the text's keyword vector
    (sqrt of the sum of (count · idf)² over matched words of the idf table), so long texts do not win.
    """

    match: str = "token"
    head_chars: int = 0
    head_boost: float = 0.0
    normalize: bool = False
    temperature: float = 0.0  # probability = softmax(score / temperature); 0 = the file is not calibrated


@dataclass
class KeywordRules:
    """A rule file parsed: per label weighted keywords, negative words, priors and co-occurrences."""

    version: str
    categories: dict[str, dict[str, float]]
    negatives: dict[str, dict[str, float]] = field(default_factory=dict)
    types: dict[str, dict[str, float]] = field(default_factory=dict)
    default_type: str = "求助"
    priors: dict[str, float] = field(default_factory=dict)
    together: dict[str, list[Together]] = field(default_factory=dict)
    levels: dict[str, dict[str, float]] = field(default_factory=dict)
    default_level: str = ""
    difficulties: dict[str, dict[str, float]] = field(default_factory=dict)
    default_difficulty: str = ""
    user_words: list[str] = field(default_factory=list)
    idf: dict[str, float] = field(default_factory=dict)
    scoring: Scoring = field(default_factory=Scoring)
    meta: dict[str, object] = field(default_factory=dict)
    hint_temperatures: dict[str, float] = field(default_factory=dict)  # section → softmax temperature

    @classmethod
    def load(cls, path: str | Path = DEFAULT_RULES, *more: str | Path) -> KeywordRules:
        """Parse one rule file; further files are merged into it (see merge)."""
        rules = cls.parse(Path(path).read_text(encoding="utf-8"), source=str(path))
        for extra in more:
            rules = rules.merge(cls.load(extra))
        return rules

    @classmethod
    def parse(cls, text: str, source: str = "<string>") -> KeywordRules:
        data = tomllib.loads(text)
        sc = data.get("scoring", {})
        scoring = Scoring(match=str(sc.get("match", "token")), head_chars=int(sc.get("head_chars", 0)),
                          head_boost=float(sc.get("head_boost", 0.0)), normalize=bool(sc.get("normalize", False)),
                          temperature=float(sc.get("temperature", 0.0)))
        if scoring.match not in MATCH_MODES:
            raise ValueError(f"{source}: scoring.match must be one of {MATCH_MODES}, not {scoring.match!r}")
        cat_bodies = data.get("categories", {})
        cats = {name: _weighted(body.get("keywords", {})) for name, body in cat_bodies.items()}
        negs = {name: _weighted(body.get("negative", {})) for name, body in cat_bodies.items()
                if body.get("negative")}
        priors = {name: float(body["prior"]) for name, body in cat_bodies.items() if "prior" in body}
        together = {name: [Together(tuple(t["words"]), float(t.get("weight", 1.0))) for t in body["together"]]
                    for name, body in cat_bodies.items() if body.get("together")}
        types, default_type = _hint_section(data.get("types", {}), "求助")
        levels, default_level = _hint_section(data.get("levels", {}), "")
        difficulties, default_difficulty = _hint_section(data.get("difficulty", {}), "")
        dictionary = data.get("dictionary", {})
        hint_temperatures = {name: float(data[name]["temperature"]) for name in ("types", "levels", "difficulty")
                             if isinstance(data.get(name), dict) and "temperature" in data[name]}
        return cls(hint_temperatures=hint_temperatures,
            version=str(data.get("version", "unversioned")), categories=cats, negatives=negs, types=types,
            default_type=default_type, priors=priors, together=together, levels=levels,
            default_level=default_level, difficulties=difficulties, default_difficulty=default_difficulty,
            user_words=[str(w) for w in dictionary.get("words", [])],
            idf={k: float(v) for k, v in data.get("idf", {}).items()}, scoring=scoring,
            meta=dict(data.get("learning", {})),
        )

    def merge(self, other: KeywordRules) -> KeywordRules:
        """Combine two rule sets: categories are united, keyword weights of the same word add up.

        The scoring settings, idf table and defaults of `self` win; `other`'s hint sections fill gaps.
        This is how hand-written rules are laid over learned ones (or the reverse).
        """
        def add(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
            out = {k: dict(v) for k, v in a.items()}
            for label, table in b.items():
                target = out.setdefault(label, {})
                for word, weight in table.items():
                    target[word] = round(target.get(word, 0.0) + weight, 6)
            return out

        together = {k: list(v) for k, v in self.together.items()}
        for label, rules in other.together.items():
            together.setdefault(label, []).extend(rules)
        priors = dict(self.priors)
        for label, prior in other.priors.items():
            priors[label] = priors.get(label, 0.0) + prior
        return KeywordRules(
            version=f"{self.version}+{other.version}", categories=add(self.categories, other.categories),
            negatives=add(self.negatives, other.negatives), types=add(self.types, other.types),
            default_type=self.default_type, priors=priors, together=together,
            levels=add(self.levels, other.levels), default_level=self.default_level or other.default_level,
            difficulties=add(self.difficulties, other.difficulties),
            default_difficulty=self.default_difficulty or other.default_difficulty,
            user_words=sorted({*self.user_words, *other.user_words}), idf={**other.idf, **self.idf},
            scoring=self.scoring, meta=dict(self.meta),
            hint_temperatures={**other.hint_temperatures, **self.hint_temperatures},
        )

    def vocabulary(self) -> set[str]:
        words: set[str] = set(self.user_words)
        for table in (*self.categories.values(), *self.negatives.values(), *self.types.values(),
                      *self.levels.values(), *self.difficulties.values()):
            words.update(table)
        for rules in self.together.values():
            for t in rules:
                words.update(t.words)
        return words


def _weighted(value: dict | list) -> dict[str, float]:
    if isinstance(value, list):
        return {w: 1.0 for w in value}
    return {k: float(w) for k, w in value.items()}


def _hint_section(section: dict, fallback: str) -> tuple[dict[str, dict[str, float]], str]:
    body = dict(section)
    default = str(body.pop("default", fallback))
    body.pop("temperature", None)
    return {name: _weighted(b.get("keywords", {})) for name, b in body.items()}, default


class SubstringMatcher:
    """Finds every listed word occurring anywhere in a text, nested ones included (出口退税 ⊃ 退税).

    Single characters and two-character words are found by set intersection with the text's
    characters and character pairs (built at C speed); only where a pair starts a longer word does
    a Python loop extend it, stopping as soon as the characters read are no prefix of a word.
    So substring meaning costs about as much as matching a set of tokens (performance.md).
    """

    WORD, PREFIX = 1, 2

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        self._one = frozenset(w for w in self.words if len(w) == 1)
        self._two = frozenset(w for w in self.words if len(w) == 2)
        longer = [w for w in self.words if len(w) >= 3]
        self._starts = frozenset(w[:2] for w in longer)
        table: dict[str, int] = {}
        for w in longer:
            for n in range(3, len(w)):
                table[w[:n]] = table.get(w[:n], 0) | self.PREFIX
            table[w] = table.get(w, 0) | self.WORD
        self._table = table

    def find(self, text: str, limit: int | None = None) -> set[str]:
        """Words present in text[:limit]."""
        if limit is not None:
            text = text[:limit]
        pairs = list(map(add, text, text[1:]))
        found = set(self._one.intersection(text))
        found.update(self._two.intersection(pairs))
        get = self._table.get
        end = len(text)
        for i in compress(range(len(pairs)), map(self._starts.__contains__, pairs)):
            j = i + 3
            while j <= end:
                flag = get(text[i:j])
                if flag is None:
                    break
                if flag & 1:
                    found.add(text[i:j])
                if not flag & 2:
                    break
                j += 1
        return found


class RuleTagger:
    """Suggests categories, the appeal type, level and difficulty hints from keyword rules."""

    def __init__(self, rules: KeywordRules, tokenizer: Tokenizer | None = None) -> None:
        self.rules = rules
        self.confidence_threshold = DEFAULT_CONFIDENCE  # [nlp] confidence_threshold; below it: 不确定
        self._watched: Path | None = None
        self._stamp: tuple[int, int] | None = None
        # substring rules never tokenize at tagging time: only the file's dictionary goes to jieba
        user_words = rules.vocabulary() if rules.scoring.match == "token" else set(rules.user_words)
        self.tokenizer = tokenizer or Tokenizer(user_words)
        self.categories = list(rules.categories)
        self._matcher = SubstringMatcher(rules.vocabulary() | set(rules.idf))
        self._idf2 = {w: x * x for w, x in rules.idf.items()}
        self._positive: dict[tuple[int, str], frozenset[str]] = {}
        # compiled now, not at the first suggestion (which runs on the event loop)
        self._compiled: dict[int, _Compiled] = {id(rules.categories): _Compiled.of(rules.categories, rules.negatives)}
        for hints in (rules.types, rules.levels, rules.difficulties):
            self._compiled[id(hints)] = _Compiled.of(hints, {})

    def watch(self, path: str | Path) -> RuleTagger:
        """Reload the rules from `path` when the file changes (see refresh); returns self."""
        self._watched = Path(path)
        self._stamp = self._file_stamp()
        return self

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self._watched.stat() if self._watched else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st else None

    def refresh(self) -> bool:
        """Take up a changed rule file (`qihu tags apply`) without a restart; a broken file keeps the old rules."""
        if self._watched is None:
            return False
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            rules = KeywordRules.load(self._watched)
        except (OSError, ValueError) as exc:
            log.warning("rules file %s not reloaded, the previous rules stay: %s", self._watched, exc)
            return False
        watched, stamp, threshold = self._watched, self._stamp, self.confidence_threshold
        self.__init__(rules, self.tokenizer if rules.scoring.match != "token" else None)  # type: ignore[misc]
        self._watched, self._stamp, self.confidence_threshold = watched, stamp, threshold
        log.info("rules reloaded from %s (version %s)", watched, rules.version)
        return True

    def _present(self, text: str) -> tuple[set[str], set[str]]:
        """(words present, words present in the head) under the file's match mode."""
        sc = self.rules.scoring
        found = self._matcher.find(text)
        if sc.match == "token":
            tokens = set(self.tokenizer.tokens(text))
            found = {w for w in found if len(w) >= SUBSTRING_MIN_CHARS or w in tokens}
        head = {w for w in found if w in text[:sc.head_chars]} if sc.head_chars and sc.head_boost else set()
        return found, head

    def _ranked(self, found: set[str], head: set[str], tables: dict[str, dict[str, float]],
                negatives: dict[str, dict[str, float]], *, with_priors: bool,
                every: bool = False) -> list[Suggestion]:
        rules = self.rules
        boost = rules.scoring.head_boost
        compiled = self._compiled.get(id(tables))
        if compiled is None:
            compiled = self._compiled[id(tables)] = _Compiled.of(tables, negatives if with_priors else {})
        zero = compiled.zero
        get = compiled.vectors.get
        # one row of per-label weights per word found; columns summed at C speed
        sums = list(map(sum, zip(*map(get, found, repeat(zero, len(found))), strict=False))) or list(zero)
        if head:
            for k, extra in enumerate(map(sum, zip(*map(get, head, repeat(zero, len(head))), strict=False))):
                sums[k] += boost * extra
        norm = 1.0
        if with_priors and rules.scoring.normalize and self._idf2:
            idf2 = self._idf2.get
            total = sum(map(idf2, found, repeat(0.0, len(found))))
            if head:
                total += ((1 + boost) ** 2 - 1) * sum(map(idf2, head, repeat(0.0, len(head))))
            norm = math.sqrt(total) or 1.0
        out: list[tuple[float, int, str]] = []
        for order, label in enumerate(compiled.labels):
            raw = sums[order]
            fired = not compiled.positive[order].isdisjoint(found)
            if with_priors:
                for t in rules.together.get(label, ()):
                    if all(w in found for w in t.words):
                        raw += t.weight
                        fired = fired or t.weight > 0
            if not fired and not every:
                continue
            score = raw / norm + (rules.priors.get(label, 0.0) if with_priors else 0.0)
            out.append((score, order, label))
        out.sort(key=lambda x: (-x[0], x[1]))
        return [Suggestion(label, round(score, 3), ()) for score, _, label in out]

    def _evidence(self, label: str, found: set[str], head: set[str]) -> tuple[str, ...]:
        """The words that pushed `label` up, strongest first (co-occurrences as a+b)."""
        boost = self.rules.scoring.head_boost
        table = self.rules.categories.get(label) or self.rules.types.get(label) or \
            self.rules.levels.get(label) or self.rules.difficulties.get(label) or {}
        key = (id(table), label)
        positive = self._positive.get(key)
        if positive is None:
            positive = self._positive[key] = frozenset(w for w, x in table.items() if x > 0)
        hits = [(w, table[w] * (1 + boost if w in head else 1)) for w in positive.intersection(found)]
        hits += [("+".join(t.words), t.weight) for t in self.rules.together.get(label, ())
                 if t.weight > 0 and all(w in found for w in t.words)]
        hits.sort(key=lambda h: (-h[1], h[0]))
        return tuple(w for w, _ in hits)

    def suggest(self, text: str, top: int = 3) -> list[Suggestion]:
        """Top categories by score, each with its trigger words; empty when no rule fires."""
        found, head = self._present(text)
        if self.rules.scoring.temperature:  # one scoring of every category gives both ranks and probabilities
            every = self._ranked(found, head, self.rules.categories, self.rules.negatives, with_priors=True,
                                 every=True)
            probs = self._softmax({s.label: s.score for s in every})
            ranked = [s for s in every if self._fired(s.label, found)]
        else:
            ranked = self._ranked(found, head, self.rules.categories, self.rules.negatives, with_priors=True)
            probs = {}
        if not self.rules.scoring.normalize:
            ranked = [s for s in ranked if s.score > 0]
        out = []
        for k, s in enumerate(ranked[:top]):
            rival = ranked[1].label if k == 0 and len(ranked) > 1 else ranked[0].label if k else None
            out.append(Suggestion(s.label, s.score, self.explain(s.label, rival, found, head), probs.get(s.label)))
        return out

    def explain(self, label: str, rival: str | None, found: set[str], head: set[str],
                most: int = EXPLAIN_MOST) -> tuple[str, ...]:
        """Whole words that pushed `label` up more than they push `rival`, by that margin, strongest first.

        Never a single character, never a word inside another shown word (co-occurrences come as a+b).
        """
        compiled = self._compiled[id(self.rules.categories)]
        at = compiled.labels.index(label)
        against = compiled.labels.index(rival) if rival in compiled.labels else None
        boost = self.rules.scoring.head_boost
        margins = []
        for w in compiled.positive[at].intersection(found):
            vector = compiled.vectors[w]
            margin = (vector[at] - (vector[against] if against is not None else 0.0)) * (1 + boost if w in head else 1)
            if margin > 0 and len(w) >= 2:
                margins.append((margin, w))
        margins += [(t.weight, "+".join(t.words)) for t in self.rules.together.get(label, ())
                    if t.weight > 0 and all(w in found for w in t.words)]
        margins.sort(key=lambda m: (-m[0], m[1]))
        shown: list[str] = []
        for _, w in margins:
            if any(w in v or v in w for v in shown):
                continue
            shown.append(w)
            if len(shown) == most:
                break
        return tuple(shown)

    def rank(self, text: str) -> list[str]:
        """Every category, best first (categories no rule fired for come last, in file order)."""
        found, head = self._present(text)
        # normalised (learned) rules score every category, words or not: rank by that score
        ranked = [s.label for s in self._ranked(found, head, self.rules.categories, self.rules.negatives,
                                                with_priors=True, every=self.rules.scoring.normalize)]
        seen = set(ranked)
        return ranked + [c for c in self.categories if c not in seen]

    def probabilities(self, text: str) -> dict[str, float]:
        """Calibrated probability of every category (softmax of the scores / temperature); {} if uncalibrated."""
        found, head = self._present(text)
        return self._probabilities(found, head)

    def _probabilities(self, found: set[str], head: set[str]) -> dict[str, float]:
        temperature = self.rules.scoring.temperature
        if not temperature:
            return {}
        return self._softmax({s.label: s.score for s in self._ranked(
            found, head, self.rules.categories, self.rules.negatives, with_priors=True, every=True)})

    def _fired(self, label: str, found: set[str]) -> bool:
        compiled = self._compiled[id(self.rules.categories)]
        if not compiled.positive[compiled.labels.index(label)].isdisjoint(found):
            return True
        return any(t.weight > 0 and all(w in found for w in t.words) for t in self.rules.together.get(label, ()))

    def _softmax(self, scores: dict[str, float]) -> dict[str, float]:
        temperature = self.rules.scoring.temperature
        top = max(scores.values())
        exps = {c: math.exp((x - top) / temperature) for c, x in scores.items()}
        total = sum(exps.values())
        return {c: e / total for c, e in exps.items()}

    def _hint(self, text: str, tables: dict[str, dict[str, float]], default: str, section: str = "") -> Suggestion:
        """The strongest hint with its words; with a section temperature, a hint below the confidence
        threshold gives way to the default (不确定, not a guess), its probability telling why."""
        found, head = self._present(text)
        ranked = [s for s in self._ranked(found, head, tables, {}, with_priors=False) if s.score > 0]
        if not ranked:
            return Suggestion(default, 0.0, ())
        top = ranked[0]
        temperature = self.rules.hint_temperatures.get(section)
        probability = None
        if temperature:
            scores = {s.label: s.score for s in ranked}
            exps = [math.exp((scores.get(label, 0.0) - top.score) / temperature) for label in tables]
            probability = 1.0 / (sum(exps) + math.exp(-top.score / temperature))
            if probability < self.confidence_threshold:
                return Suggestion(default, 0.0, (), probability)
        words = tuple(w for w in self._evidence(top.label, found, head) if len(w) >= 2)[:EXPLAIN_MOST]
        return Suggestion(top.label, top.score, words, probability)

    def classify_type(self, text: str) -> Suggestion:
        return self._hint(text, self.rules.types, self.rules.default_type, "types")

    def classify_level(self, text: str) -> Suggestion:
        """Level hint (e.g. 市级 for city-level matters); the file's default when nothing fires."""
        return self._hint(text, self.rules.levels, self.rules.default_level, "levels")

    def classify_difficulty(self, text: str) -> Suggestion:
        """Difficulty hint (e.g. 复杂 when several departments are named); default otherwise."""
        return self._hint(text, self.rules.difficulties, self.rules.default_difficulty, "difficulty")


@dataclass(frozen=True)
class _Compiled:
    """A label → word → weight table turned around: word → one weight per label (negatives subtracted)."""

    labels: tuple[str, ...]
    vectors: dict[str, tuple[float, ...]]
    positive: tuple[frozenset[str], ...]
    zero: tuple[float, ...]

    @classmethod
    def of(cls, tables: dict[str, dict[str, float]], negatives: dict[str, dict[str, float]]) -> _Compiled:
        labels = tuple(tables)
        words = {w for t in tables.values() for w in t} | {w for label in labels for w in negatives.get(label, {})}
        vectors = {
            w: tuple(tables[label].get(w, 0.0) - negatives.get(label, {}).get(w, 0.0) for label in labels)
            for w in words
        }
        positive = tuple(frozenset(w for w, x in tables[label].items() if x > 0) for label in labels)
        return cls(labels, vectors, positive, (0.0,) * len(labels))
