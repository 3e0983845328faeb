"""Import direction between the layers (architecture.md), read from the source with ast."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("bot", "handlers", "nlp", "storage", "scheduler")

# module prefix → prefixes of ours it may import (its own prefix is always allowed)
ALLOWED = {
    "bot.domain": (),
    "bot.messages": (),
    "nlp": (),
    "bot.services": ("bot.domain", "bot.messages", "nlp"),
    "handlers": ("bot.domain", "bot.messages", "bot.services"),
    "storage": ("bot.domain", "bot.messages", "bot.services"),
    "scheduler": ("bot.domain", "bot.messages", "bot.services"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in OURS}


def layer_of(module: str) -> str | None:
    matches = [p for p in ALLOWED if module == p or module.startswith(p + ".")]
    return max(matches, key=len) if matches else None


def is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


SOURCES = [p for pkg in OURS for p in (ROOT / pkg).rglob("*.py")]


def violations(module: str, source: str) -> list[str]:
    layer = layer_of(module)
    if layer is None:  # top of the stack: pipeline, server, bootstrap, cli, channels, config
        return []
    allowed = (layer, *ALLOWED[layer])
    # `from bot import x` is judged by its full name bot.x, so the bare package is skipped.
    return sorted(name for name in imports_of(source)
                  if name != "bot" and not any(is_within(name, p) for p in allowed))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_only(path):
    module = module_name(path)
    bad = violations(module, path.read_text(encoding="utf-8"))
    assert not bad, f"{module} imports {bad} against the layering"


def test_checker_catches_violations():
    assert violations("bot.domain.appeal", "from storage.tables import appeals") == [
        "storage.tables", "storage.tables.appeals"]
    assert violations("handlers.filing", "import storage") == ["storage"]
    assert violations("bot.services.appeals", "from handlers import texts") == ["handlers", "handlers.texts"]
    assert violations("bot.server", "import storage.tables") == []


@pytest.mark.parametrize("package", OURS)
def test_our_packages_resolve_inside_this_repo(package):
    # storage, scheduler and nlp also exist on PyPI: ours must win.
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve().is_relative_to(ROOT)


def test_migrations_have_a_single_head():
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config
    heads = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://")).get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: add a merge revision"
