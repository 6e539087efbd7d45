"""The import graph of ``monitor_lib`` has no cycle, and every module imports on its own.

The graph is read from the source with :mod:`ast`, so it sees what a run can execute and not only what the
test process happened to import:

* ``import a.b`` and ``from a.b import c`` at any depth — module level and inside functions (a function's
  import runs when it is called, so it is a dependency just the same); ``from a import b`` where ``b`` is
  a submodule is an edge to ``a.b``; relative imports (``from . import x``, ``from ..y import z``) are
  resolved;
* imports under ``if TYPE_CHECKING:`` are left out: they never execute;
* a package's ``__init__.py`` is the module ``monitor_lib.pkg``, and importing ``monitor_lib.pkg.mod``
  imports ``monitor_lib.pkg`` first — except the packages the importing module is itself inside, which are
  being imported already.

Two views are checked: modules, and the layers they belong to (``monitor_lib.io``, ``monitor_lib.formats``,
…, and the top-level modules ``monitor_lib.config``, ``monitor_lib.jobs``, …). A cycle among layers means
two packages each need the other, even when no single module cycle exists.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = "monitor_lib"


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package's ``__init__.py`` is the package itself)."""
    found = {}
    for path in sorted((REPO / ROOT).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """The dotted names a module imports (any depth, ``if TYPE_CHECKING:`` blocks excluded)."""

    def __init__(self, module: str, is_package: bool):
        self.package = module if is_package else module.rpartition(".")[0]
        self.names: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:  # the ``else:`` of ``if TYPE_CHECKING`` does run
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[:len(base) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        self.names.add(module)
        for alias in node.names:
            if f"{module}.{alias.name}" in modules():  # ``from pkg import submodule``
                self.names.add(f"{module}.{alias.name}")


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """module -> the modules of ``monitor_lib`` it imports (directly)."""
    graph = {}
    for name, path in modules().items():
        visitor = _Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        own = set(_ancestors(name)) | {name}
        edges = set()
        for target in visitor.names:
            if target.split(".")[0] != ROOT:
                continue
            while target and target not in modules():  # ``import monitor_lib.x.y.Name`` style: the module
                target = target.rpartition(".")[0]
            edges.update(t for t in [*_ancestors(target), target] if t and t not in own)
        graph[name] = frozenset(edges)
    return graph


def layer(module: str) -> str:
    """``monitor_lib.io.capture`` → ``monitor_lib.io``; top-level modules are their own layer."""
    parts = module.split(".")
    return ".".join(parts[:2])


def layer_graph() -> dict[str, frozenset[str]]:
    layers: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        if module == ROOT:
            continue
        edges = layers.setdefault(layer(module), set())
        edges.update(layer(t) for t in targets if t != ROOT and layer(t) != layer(module))
    return {k: frozenset(v) for k, v in layers.items()}


def strongly_connected(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one node (or a self-loop), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def one_cycle(graph: dict[str, frozenset[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the first node of a strongly connected component: a → … → a."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"{component} is not strongly connected")  # pragma: no cover


def describe(graph: dict[str, frozenset[str]], components: list[list[str]]) -> str:
    lines = []
    for c in components:
        lines.append(f"{len(c)} in a cycle: {', '.join(c)}\n    e.g. {' -> '.join(one_cycle(graph, c))}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the graph reader itself


def test_the_graph_reader_sees_every_kind_of_import(tmp_path, monkeypatch):
    """A toy package through the same reader: each rule of the module docstring, and a known cycle."""
    pkg = tmp_path / ROOT
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "import monitor_lib.b\n",
        "b.py": "def f():\n    from monitor_lib.sub import c\n",  # function level, from-package-import-module
        "sub/__init__.py": "from .c import X\n",  # relative
        "sub/c.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from monitor_lib import a\n"
                     "else:\n    from ..d import Y\n"),
        "d.py": "from monitor_lib.sub.e import Z\n",  # implies the package monitor_lib.sub
        "sub/e.py": "from monitor_lib import a\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    modules.cache_clear()
    import_graph.cache_clear()
    try:
        graph = import_graph()
        assert graph["monitor_lib.a"] == {"monitor_lib.b"}
        assert graph["monitor_lib.b"] == {"monitor_lib.sub", "monitor_lib.sub.c"}
        assert graph["monitor_lib.sub"] == {"monitor_lib.sub.c"}
        assert graph["monitor_lib.sub.c"] == {"monitor_lib.d"}  # not monitor_lib.a: TYPE_CHECKING only
        assert graph["monitor_lib.d"] == {"monitor_lib.sub", "monitor_lib.sub.e"}
        assert graph["monitor_lib.sub.e"] == {"monitor_lib.a"}
        cycles = strongly_connected(graph)
        m = "monitor_lib."
        assert cycles == [[m + "a", m + "b", m + "d", m + "sub", m + "sub.c", m + "sub.e"]]
        assert one_cycle(graph, cycles[0]) == [m + "a", m + "b", m + "sub.c", m + "d", m + "sub.e", m + "a"]
        assert strongly_connected(layer_graph()) == [["monitor_lib.a", "monitor_lib.b", "monitor_lib.d",
                                                      "monitor_lib.sub"]]
    finally:
        modules.cache_clear()
        import_graph.cache_clear()


# ---------------------------------------------------------------- monitor_lib


def test_no_import_cycle_among_modules():
    graph = import_graph()
    assert len(graph) > 40 and "monitor_lib.io.storage" in graph["monitor_lib.io.capture"]
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles among the modules of monitor_lib:\n" + describe(graph, cycles)


def test_no_import_cycle_among_layers():
    graph = layer_graph()
    assert "monitor_lib.errors" in graph["monitor_lib.io"]
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles among the packages of monitor_lib:\n" + describe(graph, cycles)


def test_errors_is_at_the_bottom():
    assert import_graph()["monitor_lib.errors"] == frozenset()


def _import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    last = done.stderr.strip().splitlines()[-1:]
    return module, done.returncode, last[0] if last else ""


def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    """One fresh interpreter per module (nothing imported before it), several at a time."""
    names = sorted(modules())
    with ThreadPoolExecutor(max_workers=max(4, (os.cpu_count() or 2) * 2)) as pool:
        results = list(pool.map(_import_alone, names))
    failed = [f"{m}: {err}" for m, code, err in results if code != 0]
    assert len(results) == len(names) and not failed, "\n".join(failed)
