"""Did-you-mean for chat commands: the same pinyin, one character off, or typed in pinyin."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pypinyin import lazy_pinyin

# An appeal number glued to the word before it: 查寻QH20261125-0001.
NUMBER_START = re.compile(r"[A-Za-z]{1,6}\d{8}-\d{4}")
_GLUED_NUMBER = re.compile(r"^(?P<word>\D+?)(?P<number>[A-Z]{1,6}\d{8}-\d{4}.*)$")


def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text)).lower()


def distance(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbours as one edit (查询 / 询查)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def split_head(text: str) -> tuple[str, str]:
    """The first word and the rest, with an appeal number glued to the word taken off it."""
    head, _, rest = text.strip().partition(" ")
    m = _GLUED_NUMBER.match(head)
    if m:
        return m.group("word"), (m.group("number") + " " + rest).strip()
    return head, rest.strip()


def nearest(word: str, names: Iterable[str], *, strict: bool = False) -> str | None:
    """The command `word` was probably meant to be, or None.

    Sounds the same (分排 → 分派), typed in pinyin (chaxun → 查询), or, unless `strict`, one edit
    away (查寻 → 查询, 询查 → 查询). A word that is itself a command is not a typo.
    """
    names = [n for n in names if n and not n.startswith("/")]
    if not word or word in names or len(word) > (24 if word.isascii() else 8):
        return None
    sound = _pinyin(word)
    for name in names:
        if len(name) == len(word) and _pinyin(name) == sound:
            return name
    if word.isascii() and word.isalpha():
        for name in names:
            if _pinyin(name) == word.lower():
                return name
        return None
    if strict:
        return None
    close = [n for n in names if len(n) >= 2 and len(word) >= 2 and distance(word, n) == 1]
    return close[0] if close else None
