"""Keyword-rule tag suggestions: scored categories with the words that triggered them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from nlp.tokenizer import Tokenizer

DEFAULT_RULES = Path(__file__).parent / "data" / "enterprise_rules.toml"
SUBSTRING_MIN_CHARS = 3


@dataclass(frozen=True)
class Suggestion:
    """One suggested tag, its score and the words that produced it (the explanation)."""

    label: str
    score: float
    evidence: tuple[str, ...]


@dataclass
class KeywordRules:
    """A rule file parsed: per label weighted keywords and negative words."""

    version: str
    categories: dict[str, dict[str, float]]
    negatives: dict[str, dict[str, float]] = field(default_factory=dict)
    types: dict[str, dict[str, float]] = field(default_factory=dict)
    default_type: str = "求助"

    @classmethod
    def load(cls, path: str | Path = DEFAULT_RULES) -> KeywordRules:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        cats = {name: {k: float(w) for k, w in body.get("keywords", {}).items()}
                for name, body in data.get("categories", {}).items()}
        negs = {name: _weighted(body.get("negative", {}))
                for name, body in data.get("categories", {}).items()}
        types_section = dict(data.get("types", {}))
        default_type = str(types_section.pop("default", "求助"))
        types = {name: {k: float(w) for k, w in body.get("keywords", {}).items()}
                 for name, body in types_section.items()}
        return cls(str(data.get("version", "unversioned")), cats, negs, types, default_type)

    def vocabulary(self) -> set[str]:
        words: set[str] = set()
        for table in (*self.categories.values(), *self.negatives.values(), *self.types.values()):
            words.update(table)
        return words


def _weighted(value: dict | list) -> dict[str, float]:
    if isinstance(value, list):
        return {w: 1.0 for w in value}
    return {k: float(w) for k, w in value.items()}


class RuleTagger:
    """Suggests categories and the appeal type from keyword rules over jieba tokens."""

    def __init__(self, rules: KeywordRules, tokenizer: Tokenizer | None = None) -> None:
        self.rules = rules
        self.tokenizer = tokenizer or Tokenizer(rules.vocabulary())
        self.categories = list(rules.categories)

    def _hits(self, tokens: set[str], text: str, table: dict[str, float]) -> list[tuple[str, float]]:
        return [
            (word, weight)
            for word, weight in table.items()
            if word in tokens or (len(word) >= SUBSTRING_MIN_CHARS and word in text)
        ]

    def _terms(self, text: str) -> set[str]:
        """Tokens plus the 2–3 character heads and tails of longer tokens: jieba keeps compounds
        such as 招工难 or 劳务市场 whole, and a rule for 招工 or 劳务 means them too."""
        tokens = set(self.tokenizer.tokens(text))
        for token in list(tokens):
            for n in (2, 3):
                if len(token) > n:
                    tokens.add(token[:n])
                    tokens.add(token[-n:])
        return tokens

    def _score(self, text: str, tables: dict[str, dict[str, float]],
               negatives: dict[str, dict[str, float]]) -> list[Suggestion]:
        tokens = self._terms(text)
        out = []
        for label, table in tables.items():
            hits = self._hits(tokens, text, table)
            if not hits:
                continue
            score = sum(w for _, w in hits) - sum(w for _, w in self._hits(tokens, text, negatives.get(label, {})))
            if score > 0:
                hits.sort(key=lambda h: -h[1])
                out.append(Suggestion(label, round(score, 3), tuple(w for w, _ in hits)))
        out.sort(key=lambda s: (-s.score, self._order(label=s.label, tables=tables)))
        return out

    @staticmethod
    def _order(label: str, tables: dict[str, dict[str, float]]) -> int:
        return list(tables).index(label)

    def suggest(self, text: str, top: int = 3) -> list[Suggestion]:
        """Top categories by score; empty when no rule fires (the caller offers the full list)."""
        return self._score(text, self.rules.categories, self.rules.negatives)[:top]

    def classify_type(self, text: str) -> Suggestion:
        ranked = self._score(text, self.rules.types, {})
        return ranked[0] if ranked else Suggestion(self.rules.default_type, 0.0, ())
