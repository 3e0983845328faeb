"""Lenient org-unit matching: full names, aliases, short names, pinyin initials; ambiguity raises."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pypinyin import Style, lazy_pinyin

from bot.domain.errors import InvalidInput, NotFound
from bot.services.ports import OrgUnit

# Words people drop when naming a unit ("县人社局" → "人社"), so short forms still match.
_NOISE = re.compile(r"^(国家税务总局|国网|示范县|示范|县|市)|(局|公司|街道|镇|乡|中心|办)$")


class AmbiguousUnit(InvalidInput):
    """The text fits several units; `candidates` lists their names so the person can pick one."""

    code = "unit_ambiguous"


def _initials(text: str) -> str:
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER)).lower()


def _short(text: str) -> str:
    return _NOISE.sub("", _NOISE.sub("", text))


def match_unit(units: Sequence[OrgUnit], text: str) -> OrgUnit:
    """The one unit `text` names. Raises NotFound("unit_unknown") or AmbiguousUnit.

    Exact id / name / alias wins outright; then containment either way against names, aliases
    and their short forms; then pinyin initials (gdgs → 供电公司) for Latin input.
    """
    raw = re.sub(r"\s+", "", text)
    if not raw:
        raise NotFound("unit_unknown", text=text)
    exact = [u for u in units if raw in (u.id, u.name, *u.aliases)]
    if len(exact) == 1:
        return exact[0]
    found: list[OrgUnit] = []
    for u in units:
        names = [u.name, *u.aliases]
        shorts = [s for s in (_short(n) for n in names) if len(s) >= 2]
        if any(raw in n for n in names) or any(s in raw for s in shorts) or _short(raw) in shorts:
            found.append(u)
    if not found and raw.isascii() and raw.isalpha():
        low = raw.lower()
        found = [u for u in units if any(_initials(n) == low or _initials(_short(n)) == low
                                         for n in (u.name, *u.aliases))]
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFound("unit_unknown", text=text)
    raise AmbiguousUnit(text=text, candidates=[u.name for u in found[:8]])
