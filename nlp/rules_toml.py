"""A rule set as TOML text (dump_rules), and what changed between two rule sets, in words (diff_rules)."""

from __future__ import annotations

import json

from nlp.rules import KeywordRules


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
