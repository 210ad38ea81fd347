"""Dependencies run one way: no import cycle between rebook's modules, nor between its
packages, and the send path's layers (campaigns → messaging → deliverability → delivery →
channels) are never imported upwards.

Every import statement counts, wherever it is (inside a function, under TYPE_CHECKING): an
import moved into a function hides a cycle from the interpreter, it does not remove it."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

import rebook

SOURCE = Path(rebook.__file__).parent
# Highest first: a package may import those after it, never those before it.
SEND_PATH = (
    "rebook.campaigns",
    "rebook.messaging",
    "rebook.deliverability",
    "rebook.delivery",
    "rebook.channels",
)

Graph = dict[str, set[str]]


def module_names(root: Path) -> dict[str, Path]:
    """Every module under the package directory `root`, by dotted name."""
    names = {}
    for path in root.rglob("*.py"):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = module.split(".") if is_package else module.split(".")[:-1]
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        yield base
        # `from package import module` imports the module.
        yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(root: Path) -> Graph:
    """Module → the modules of the same tree it imports, anywhere in its source."""
    modules = module_names(root)
    graph: Graph = defaultdict(set)
    for module, path in modules.items():
        graph[module]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported(node, module, path.name == "__init__.py"):
                if name in modules and name != module:
                    graph[module].add(name)
    return dict(graph)


def package_graph(graph: Graph) -> Graph:
    """The same imports between top-level parts (`rebook.messaging`, `rebook.db`, …)."""

    def top(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: Graph = defaultdict(set)
    for module, imported in graph.items():
        packages[top(module)]
        packages[top(module)] |= {top(m) for m in imported if top(m) != top(module)}
    return dict(packages)


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected parts with more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward_imports(packages: Graph, layers: tuple[str, ...]) -> list[str]:
    return [
        f"{lower} imports {higher}"
        for i, higher in enumerate(layers)
        for lower in layers[i + 1 :]
        if higher in packages.get(lower, set())
    ]


class TestRebook:
    def test_no_module_imports_itself_through_others(self) -> None:
        assert cycles(import_graph(SOURCE)) == []

    def test_no_package_imports_itself_through_others(self) -> None:
        assert cycles(package_graph(import_graph(SOURCE))) == []

    def test_the_send_path_is_never_imported_upwards(self) -> None:
        assert upward_imports(package_graph(import_graph(SOURCE)), SEND_PATH) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / "app" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "app"


class TestTheCheckItself:
    """The checks above find what they look for (else they would pass on anything)."""

    def test_a_cycle_through_a_function_level_import_is_found(self, tmp_path: Path) -> None:
        root = _tree(
            tmp_path,
            {
                "__init__.py": "",
                "a.py": "from app import b\n",
                "b.py": "def later():\n    from app.a import thing\n",
                "c.py": "import app.a\n",
            },
        )
        assert cycles(import_graph(root)) == [["app.a", "app.b"]]

    def test_a_package_cycle_without_a_module_cycle_is_found(self, tmp_path: Path) -> None:
        root = _tree(
            tmp_path,
            {
                "__init__.py": "",
                "low/__init__.py": "",
                "low/x.py": "from app.high import y\n",
                "high/__init__.py": "",
                "high/y.py": "",
                "high/z.py": "from app.low.x import anything\n",
            },
        )
        graph = import_graph(root)
        assert cycles(graph) == []
        assert cycles(package_graph(graph)) == [["app.high", "app.low"]]
        assert upward_imports(package_graph(graph), ("app.high", "app.low")) == [
            "app.low imports app.high"
        ]

    @pytest.mark.parametrize("statement", ["from . import b", "from .b import f"])
    def test_relative_imports_count(self, tmp_path: Path, statement: str) -> None:
        root = _tree(
            tmp_path,
            {"__init__.py": "", "a.py": statement + "\n", "b.py": "import app.a\n"},
        )
        assert cycles(import_graph(root)) == [["app.a", "app.b"]]
