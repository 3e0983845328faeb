"""bot/texts.py assigns each name once: a second assignment silently replaces the first text everywhere."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

TEXTS = Path(__file__).resolve().parents[2] / "bot" / "texts.py"


def test_every_text_name_is_assigned_once() -> None:
    names = Counter(target.id for node in ast.parse(TEXTS.read_text(encoding="utf-8")).body
                    if isinstance(node, ast.Assign | ast.AnnAssign)
                    for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(target, ast.Name))
    assert [name for name, n in names.items() if n > 1] == []
