"""Which of our packages each package may import, and a checker that reads every module's
imports with ``ast`` (module level, inside functions and under ``TYPE_CHECKING`` alike).

The rules (README "Layout"; "Where things live" names the file that owns each concern):
- ``core`` is shared by server and workers and imports none of our other packages;
- ``server`` and ``workers`` build on ``core`` and never import each other;
- ``clients`` is the client library: it imports only the generated ``consulta`` package (and
  third-party libraries), so it could ship alone;
- ``app`` is the composition root and may import every package but ``tests``, as may
  ``bench``, ``eval`` and ``protos``;
- nothing outside ``tests`` imports ``tests``, neither with ``import`` nor by running one of
  its modules (``"-m", "tests...."`` in a command line).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Our own top-level packages; anything else imported is a third-party library.
OURS = frozenset(
    {"app", "bench", "clients", "consulta", "core", "eval", "protos", "server", "tests", "workers"}
)
_ALL_BUT_TESTS = OURS - {"tests"}

#: For each package, the packages of ours it may import (itself included).
ALLOWED: Mapping[str, frozenset[str]] = {
    "core": frozenset({"core", "consulta"}),
    "server": frozenset({"server", "core", "consulta"}),
    "workers": frozenset({"workers", "core", "consulta"}),
    "clients": frozenset({"clients", "consulta"}),
    "app": _ALL_BUT_TESTS,
    "bench": _ALL_BUT_TESTS,
    "eval": _ALL_BUT_TESTS,
    "protos": _ALL_BUT_TESTS,
    "tests": OURS,
}

#: Folders under the repository's root whose modules are checked (gen/ holds only generated
#: code, and infra/ is a separate project with its own virtual environment).
CHECKED = tuple(sorted(ALLOWED))


@dataclass(frozen=True, slots=True)
class Import:
    """One module named by an import statement (or a ``-m`` command line) in a file."""

    path: Path
    line: int
    module: str
    names: tuple[str, ...] = ()  # what ``from module import ...`` takes, maybe modules too

    @property
    def package(self) -> str:
        return self.module.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Violation:
    importer: str  # the importing module's package
    found: Import

    def __str__(self) -> str:
        allowed = ", ".join(sorted(ALLOWED[self.importer]))
        return (
            f"{self.found.path}:{self.found.line} imports {self.found.module} "
            f"({self.importer} may import only {allowed} of ours)"
        )


def module_name(root: Path, path: Path) -> str:
    """``server/app.py`` -> ``server.app``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module a ``from ... import`` reads, with relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    # In a package's __init__ the first dot is the package itself; in a module, its parent.
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, node.module] if node.module else base)


def _run_module_arguments(node: ast.List | ast.Tuple) -> Iterator[tuple[int, str]]:
    """``[..., "-m", "pkg.mod", ...]``: a command line that runs a module of ours."""
    items = node.elts
    for flag, value in itertools.pairwise(items):
        if (
            isinstance(flag, ast.Constant)
            and flag.value == "-m"
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            yield value.lineno, value.value


def imports_in(root: Path, path: Path) -> list[Import]:
    """Every module ``path`` imports, wherever the statement is."""
    importer = module_name(root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Import(path, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, importer, is_package)
            names = tuple(alias.name for alias in node.names)
            found.append(Import(path, node.lineno, module, names))
        elif isinstance(node, ast.Call) and _names_import_module(node.func):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(Import(path, node.lineno, first.value))
        elif isinstance(node, ast.List | ast.Tuple):
            found.extend(Import(path, line, name) for line, name in _run_module_arguments(node))
    return found


def _names_import_module(func: ast.expr) -> bool:
    """``importlib.import_module(...)``, ``import_module(...)`` or ``__import__(...)``."""
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def python_files(root: Path) -> Iterator[Path]:
    """The checked packages' modules, in a stable order."""
    for package in CHECKED:
        folder = root / package
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def violations(root: Path) -> list[Violation]:
    """Every import under ``root`` that breaks ``ALLOWED``."""
    found: list[Violation] = []
    for path in python_files(root):
        importer = path.relative_to(root).parts[0]
        allowed = ALLOWED[importer]
        for item in imports_in(root, path):
            if item.package in OURS and item.package not in allowed:
                found.append(Violation(importer, item))
    return found


def cycles(root: Path, package: str) -> list[list[str]]:
    """Import cycles among ``package``'s modules (any import counts, ``TYPE_CHECKING``
    included: a cycle that only the type checker follows is still two modules that cannot
    be read apart). Each cycle once, as the modules along it."""
    modules = {module_name(root, p): p for p in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for item in imports_in(root, path):
            # ``from pkg import mod`` imports the module ``pkg.mod`` as well as ``pkg``.
            named = [item.module, *(f"{item.module}.{n}" for n in item.names)]
            targets.update(m for m in named if m in modules and m != name)
        graph[name] = targets
    return _cycles_of(graph)


def _cycles_of(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)
