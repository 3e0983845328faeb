"""Import direction between the layers (docs/architecture.md), which third-party libraries each layer
may use, and no private attribute of another library read: all read from the source with ast."""

from __future__ import annotations

import ast
import gc
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("bot", "handlers", "nlp", "storage", "scheduler")

# The runtime shell, on top: the process, its HTTP server and routes, start-up, the command line and
# the operations tools. It may import anything of ours.
SHELL = ("bot.__main__", "bot.cli", "bot.server", "bot.bootstrap", "bot.delivery_process", "bot.monitoring",
         "bot.api", "bot.api_cli", "bot.ops_cli", "bot.backup", "bot.privacy", "bot.health", "bot.metrics",
         "bot.startup", "bot.logsetup", "bot.staff_reach")
# module prefix → prefixes of ours it may import (its own prefix is always allowed); the longest
# prefix decides, and every module has one (test_every_module_has_a_layer). docs/architecture.md
# draws the same table.
ALLOWED = {
    **{shell: OURS for shell in SHELL},
    # Channels: requests in, InboundMessage to the pipeline; outbound messages out as requests.
    # Their configuration, the pipeline and spool they hand messages to, delivery's sender contract,
    # the webhooks' signature and DingTalk's replay rule; never handlers, storage, scheduler or nlp,
    # and no other service (a use case is reached through the pipeline).
    "bot.channels": ("bot.config", "bot.pipeline", "bot.spool", "bot.services.ports", "bot.services.delivery",
                     "bot.services.webhooks", "bot.services.replays", "bot.domain", "bot.messages", "bot.texts",
                     "bot.escaping"),
    # The pipeline: one turn (dedupe, lock, route, outbox) and the spool that keeps turns through an
    # outage. It routes to the handlers; storage reaches it only through the ports.
    "bot.pipeline": ("handlers", "bot.services", "bot.domain", "bot.messages", "bot.texts"),
    "bot.spool": ("bot.services.ports", "bot.messages"),
    # Dialogue, schedule and the documents they produce: they call services and render.
    "handlers": ("bot.services", "bot.domain", "bot.messages", "bot.texts"),
    "scheduler": ("bot.services", "bot.domain", "bot.messages", "bot.texts"),
    "bot.reports": ("bot.services", "bot.domain", "bot.messages", "bot.texts", "bot.escaping"),
    "bot.demo_pool": ("bot.services", "bot.domain", "bot.messages"),  # drives the use cases, like a handler
    # Services: the rules, the permissions and the ports storage and nlp implement.
    "bot.services": ("bot.domain", "bot.messages", "nlp"),
    # Adapters that implement the services' ports.
    "storage": ("bot.services", "bot.domain", "bot.messages"),
    "nlp": (),
    # The bottom: what everything may use.
    "bot.config": (),  # the settings, read from the file and the environment
    "bot.texts": ("bot.domain",),  # everything a person reads, zh-CN: handlers, notices, channels, reports
    "bot.escaping": (),
    "bot.domain": (),
    "bot.messages": (),
    "bot": (),  # the package itself (its __init__ is a docstring)
}
# Packages whose name is a layer only for their own __init__, not a prefix for what is inside.
EXACT = {"bot"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def parse(source: str) -> ast.Module:
    """ast.parse with the collector held off: on Python 3.11 a collection during the AST build can
    finalise a PostgreSQL connection left by an earlier test, whose greenlet switch moves the thread's
    recursion depth, and compile() then fails with "AST constructor recursion depth mismatch"."""
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        gc.enable()


def imports_of(source: str) -> set[str]:
    tree = parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not is_package(node.module):  # `from bot.services import x` is judged by bot.services.x
                found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in OURS}


def layer_of(module: str) -> str | None:
    matches = [p for p in ALLOWED if module == p or (p not in EXACT and module.startswith(p + "."))]
    return max(matches, key=len) if matches else None


def is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


SOURCES = [p for pkg in OURS for p in (ROOT / pkg).rglob("*.py")]
EVERY_SOURCE = SOURCES + [p for pkg in ("tests", "benchmarks") for p in (ROOT / pkg).rglob("*.py")]

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
KNOWN_THIRD_PARTY: set[tuple[str, str]] = set()


def violations(module: str, source: str) -> list[str]:
    layer = layer_of(module)
    if layer is None:
        return [f"{module} has no layer"]
    allowed = (layer, *ALLOWED[layer])
    return sorted(name for name in imports_of(source) if not any(is_within(name, p) for p in allowed))


def is_package(name: str) -> bool:
    return (ROOT / name.replace(".", "/") / "__init__.py").exists()


def third_party_violations(module: str, source: str) -> list[str]:
    found: set[str] = set()
    for node in ast.walk(parse(source)):
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
    for node in ast.walk(parse(source)):
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


TREES = {path: parse(path.read_text(encoding="utf-8")) for path in EVERY_SOURCE}
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
    for node in ast.walk(parse(source)):
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
    assert violations("bot.channels.webchat_channel", "from bot.services import membership") == [
        "bot.services.membership"]
    assert violations("bot.channels.telegram_channel", "from handlers.render import refusal") == [
        "handlers.render", "handlers.render.refusal"]
    assert violations("bot.pipeline", "from storage.engine import database_unreachable") == [
        "storage.engine", "storage.engine.database_unreachable"]
    assert violations("bot.reports.render", "from bot.bootstrap import App") == ["bot.bootstrap", "bot.bootstrap.App"]
    assert violations("bot.config", "from bot.startup import StartupError") == [
        "bot.startup", "bot.startup.StartupError"]
    assert violations("bot.new_module", "import os") == ["bot.new_module has no layer"]


def test_every_module_has_a_layer():
    # A new module must be placed: one left out would be checked against nothing.
    assert sorted(m for m in MODULES if layer_of(m) is None) == []
    assert layer_of("bot") == "bot" and layer_of("bot.anything_new") is None
    assert (ROOT / "bot" / "__init__.py").read_text(encoding="utf-8").count("import") == 0


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
    return sorted({f"uow.{node.attr}" for node in ast.walk(parse(source))
                   if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                   and node.value.attr == "uow"})


@pytest.mark.parametrize("path", [p for p in SOURCES if module_name(p).startswith("handlers")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_handlers_reach_storage_only_through_services(path):
    assert repository_reads(path.read_text(encoding="utf-8")) == []


def test_the_repository_read_checker_catches_one():
    assert repository_reads("keys = await turn.uow.directory.keys_for_role('dispatcher')") == ["uow.directory"]
    assert repository_reads("await svc.todo(turn.uow, turn.identity)") == []


def test_the_architecture_page_places_every_layer():
    # docs/architecture.md's table is this file's ALLOWED in words: each prefix is named there.
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [p for p in ALLOWED if p not in EXACT and f"`{p}`" not in page] == []
