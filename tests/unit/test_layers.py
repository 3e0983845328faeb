"""Import direction between the layers (docs/architecture.md), which third-party libraries each layer
may use, and no private attribute of another library read: all read from the source with ast."""

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
    # Everything a person reads, zh-CN, in one place: handlers, notices, channels and reports all use it.
    "bot.texts": ("bot.domain",),
    "nlp": (),
    "bot.services": ("bot.domain", "bot.messages", "nlp"),
    "handlers": ("bot.domain", "bot.messages", "bot.texts", "bot.services"),
    "storage": ("bot.domain", "bot.messages", "bot.services"),
    "scheduler": ("bot.domain", "bot.messages", "bot.texts", "bot.services"),
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
EVERY_SOURCE = SOURCES + [p for pkg in ("tests", "benchmarks") for p in (ROOT / pkg).rglob("*.py")]

# The runtime shell: the process, its HTTP server, start-up and the sender's process.
SHELL = ("bot.server", "bot.cli", "bot.bootstrap", "bot.delivery_process", "bot.monitoring", "bot.api")
# library → prefixes of ours that may import it (tests and benchmarks may import anything)
THIRD_PARTY = {
    "sqlalchemy": ("storage",),
    "aiosqlite": ("storage",),
    "asyncpg": ("storage",),
    "alembic": ("storage",),
    "aiohttp": (*SHELL, "bot.channels"),
    "jieba": ("nlp",),
    "dingtalk_stream": ("bot.channels",),
    "websockets": ("bot.channels",),
}
# (module, library) imports against THIRD_PARTY that are known debt; each says what would end it.
KNOWN_THIRD_PARTY = {
    # TODO(issue 18): App.engine is SQLAlchemy's AsyncEngine, which the shell, the cli and the tests
    # use directly; a database handle of storage's own would take sqlalchemy out of bootstrap.
    ("bot.bootstrap", "sqlalchemy"),
    # TODO(issue 18): the operations commands (issue 13) open the database themselves; their queries
    # (readiness, migration head, backup, start-up probes) belong in storage behind a port.
    ("bot.backup", "sqlalchemy"),
    ("bot.startup", "sqlalchemy"),
    ("bot.health", "sqlalchemy"),
    ("bot.health", "alembic"),
}


def violations(module: str, source: str) -> list[str]:
    layer = layer_of(module)
    if layer is None:  # top of the stack: pipeline, server, bootstrap, cli, channels, config
        return []
    allowed = (layer, *ALLOWED[layer])
    # `from bot import x` is judged by its full name bot.x, so the bare package is skipped.
    return sorted(name for name in imports_of(source)
                  if name != "bot" and not any(is_within(name, p) for p in allowed))


def third_party_violations(module: str, source: str) -> list[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return sorted(lib for lib in found & THIRD_PARTY.keys()
                  if not any(is_within(module, p) for p in THIRD_PARTY[lib]) and (module, lib) not in KNOWN_THIRD_PARTY)


# Names with a leading underscore that their libraries document as public: a namedtuple's methods
# (underscored so as not to clash with field names) and SQLAlchemy's Row._mapping, likewise.
PUBLIC_UNDERSCORED = {"_asdict", "_fields", "_field_defaults", "_make", "_replace", "_mapping", "_tuple", "_t"}
# (path, name) reads of another library's private attribute that are known debt.
KNOWN_PRIVATE: set[tuple[str, str]] = set()


def names_defined(trees: list[ast.AST]) -> set[str]:
    """Every name our code defines: functions, classes, parameters, assigned names and attributes."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def private_reads(source: str, ours: set[str]) -> list[str]:
    """Underscored attributes read (`x._name`, `getattr(x, "_name")`) that no code of ours defines:
    they can only belong to another library's objects, whose private parts may change in any release."""
    found = []
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            name = node.args[1].value
        if (name and name.startswith("_") and not name.startswith("__") and name not in ours
                and name not in PUBLIC_UNDERSCORED):
            found.append(name)
    return sorted(set(found))


TREES = {path: ast.parse(path.read_text(encoding="utf-8")) for path in EVERY_SOURCE}
OUR_NAMES = names_defined(list(TREES.values()))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_third_party_libraries_stay_in_their_layer(path):
    module = module_name(path)
    bad = third_party_violations(module, path.read_text(encoding="utf-8"))
    assert not bad, f"{module} imports {bad}: see THIRD_PARTY for who may"


@pytest.mark.parametrize("path", EVERY_SOURCE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_attribute_of_another_library_is_read(path):
    where = path.relative_to(ROOT).as_posix()
    bad = [name for name in private_reads(path.read_text(encoding="utf-8"), OUR_NAMES)
           if (where, name) not in KNOWN_PRIVATE]
    assert not bad, f"{where} reads {bad}, private to another library: use its public API"


def test_the_known_exceptions_are_still_needed():
    # Paid debt leaves the lists, so they show only what is still owed.
    for module, lib in KNOWN_THIRD_PARTY:
        path = ROOT / (module.replace(".", "/") + ".py")
        assert lib in {n.split(".")[0] for n in imports_of_any(path.read_text(encoding="utf-8"))}, (module, lib)
    for where, name in KNOWN_PRIVATE:
        assert name in private_reads((ROOT / where).read_text(encoding="utf-8"), OUR_NAMES), (where, name)


def imports_of_any(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_private_read_checker_catches_what_the_fast_path_once_did():
    ours = {"conn", "driver", "raw", "stmt", "type_"}
    assert private_reads("raw = driver._conn\nconn._thread.daemon = True", ours) == ["_conn", "_thread"]
    assert private_reads("p = type_._cached_bind_processor(dialect)", ours) == ["_cached_bind_processor"]
    assert private_reads('cols = getattr(stmt, "_returning", ())', ours) == ["_returning"]
    assert private_reads("class C(aiosqlite.Connection):\n def f(self):\n  return self._running", ours) == [
        "_running"]
    assert private_reads("m = row._mapping\nd = point._asdict()", ours) == []
    assert private_reads("self._mine = 1\nx = self._mine", ours | {"_mine"}) == []


def test_the_third_party_checker_catches_violations():
    assert third_party_violations("handlers.filing", "from sqlalchemy import select") == ["sqlalchemy"]
    assert third_party_violations("bot.services.kpi", "import aiohttp.web") == ["aiohttp"]
    assert third_party_violations("bot.services.tagging", "import jieba") == ["jieba"]
    assert third_party_violations("storage.engine", "import asyncpg, aiosqlite, sqlalchemy") == []
    assert third_party_violations("bot.channels.dingtalk.callback", "from aiohttp import web") == []
    assert third_party_violations("bot.server", "from aiohttp import web") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_only(path):
    module = module_name(path)
    bad = violations(module, path.read_text(encoding="utf-8"))
    assert not bad, f"{module} imports {bad} against the layering"


def test_checker_catches_violations():
    assert violations("bot.domain.appeal", "from storage.tables import appeals") == [
        "storage.tables", "storage.tables.appeals"]
    assert violations("handlers.filing", "import storage") == ["storage"]
    assert violations("bot.services.appeals", "from bot import texts") == ["bot.texts"]
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


MODULES = {module_name(p): p for p in SOURCES}


def import_graph() -> dict[str, set[str]]:
    """Each of our modules → our modules it imports anywhere in its body (local imports included)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = set()
        for name in imports_of(path.read_text(encoding="utf-8")):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and "." in name:  # a bare package's __init__ is empty
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# Import cycles that are known debt (each with a TODO saying what would end it).
KNOWN_CYCLES: list[list[str]] = []


def test_no_import_cycle():
    # Not even through an import inside a function: that is a cycle hidden from the reader, not removed.
    assert [c for c in cycles(import_graph()) if c not in KNOWN_CYCLES] == []
    assert all(c in cycles(import_graph()) for c in KNOWN_CYCLES)  # paid debt leaves the list


def test_the_cycle_finder_finds_a_hidden_cycle():
    assert cycles({"bot.bootstrap": {"bot.delivery_process"}, "bot.delivery_process": {"bot.bootstrap"},
                   "bot.server": {"bot.bootstrap"}}) == [["bot.bootstrap", "bot.delivery_process"]]


def repository_reads(source: str) -> list[str]:
    """`x.uow.<repository>` in a dialogue module: it may hand the unit of work to a service, never use it."""
    return sorted({f"uow.{node.attr}" for node in ast.walk(ast.parse(source))
                   if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                   and node.value.attr == "uow"})


@pytest.mark.parametrize("path", [p for p in SOURCES if module_name(p).startswith("handlers")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_handlers_reach_storage_only_through_services(path):
    assert repository_reads(path.read_text(encoding="utf-8")) == []


def test_the_repository_read_checker_catches_one():
    assert repository_reads("keys = await turn.uow.directory.keys_for_role('dispatcher')") == ["uow.directory"]
    assert repository_reads("await svc.todo(turn.uow, turn.identity)") == []
