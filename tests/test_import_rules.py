"""The import rules hold on the whole tree (tests/support/import_rules.py says them), and the
checker finds a violation wherever it hides: module level, inside a function, under
``TYPE_CHECKING``, relative, or a ``-m`` command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.import_rules import ALLOWED, cycles, imports_in, violations

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_imports_only_what_its_rule_allows() -> None:
    found = violations(ROOT)
    assert not found, "\n".join(str(v) for v in found)


#: Every package of ours with hand-written modules, the tests included.
PACKAGES = ("core", "server", "workers", "clients", "app", "bench", "eval", "protos", "tests")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_has_an_import_cycle(package: str) -> None:
    assert (ROOT / package).is_dir()
    assert cycles(ROOT, package) == []


def test_the_makefile_runs_no_module_of_the_tests_but_through_pytest() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.findall(r"-m\s+tests\b", makefile) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


CLEAN = {
    "core/__init__.py": "",
    "core/settings.py": "import os\nfrom consulta.v1 import job_pb2\n",
    "server/__init__.py": "",
    "server/app.py": "from core.settings import os\nfrom . import service\n",
    "server/service.py": "import grpc\n",
    "workers/__init__.py": "",
    "workers/app.py": "from core import settings\n",
    "clients/__init__.py": "",
    "clients/client.py": "from consulta.v1 import job_pb2\nfrom clients import upload\n",
    "clients/upload.py": "import grpc\n",
    "app/__init__.py": "",
    "app/cli.py": (
        "from server.app import x\nfrom workers.app import y\nfrom clients import client\n"
    ),
    "tests/__init__.py": "",
    "tests/support.py": "from app.cli import x\n",
    "tests/test_x.py": "from tests.support import x\nfrom server.app import y\n",
}


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, CLEAN)
    assert violations(root) == []
    assert cycles(root, "clients") == []


@pytest.mark.parametrize(
    ("path", "text", "imported"),
    [
        # The server embedding the workers, at module level.
        ("server/app.py", "from workers.app import WorkerGroup\n", "workers.app"),
        # A worker reaching into the server from inside a function.
        ("workers/app.py", "def f():\n    import server.service\n", "server.service"),
        # The client importing the server's settings only for the type checker.
        (
            "clients/cli.py",
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from core.settings import S\n",
            "core.settings",
        ),
        # The client minting tokens with the server's code, imported late.
        ("clients/token.py", "def mint():\n    from core.auth import mint_token\n", "core.auth"),
        ("clients/cli.py", "import app.cli\n", "app.cli"),
        # Core depending on what is built on it.
        ("core/runtime.py", "from server import app\n", "server"),
        ("core/runtime.py", "from clients.client import C\n", "clients.client"),
        # A relative import that climbs out of its package is still an import of the other.
        ("server/app.py", "from ..workers import app\n", "workers"),
        # Nothing but the tests imports the tests, however it does it.
        ("bench/upload.py", "def f():\n    from tests.support import seaweed\n", "tests.support"),
        ("app/stack.py", "import importlib\nimportlib.import_module('tests.x')\n", "tests.x"),
        (
            "app/stack.py",
            "argv = ['python', '-m', 'tests.support.seaweed']\n",
            "tests.support.seaweed",
        ),
        ("eval/run.py", "__import__('tests.e2e')\n", "tests.e2e"),
    ],
)
def test_the_checker_finds_a_violation(tmp_path: Path, path: str, text: str, imported: str) -> None:
    root = _tree(tmp_path, {**CLEAN, path: text})
    found = violations(root)
    assert [(str(v.found.path.relative_to(root)), v.found.module) for v in found] == [
        (path, imported)
    ]
    package = path.split("/", 1)[0]
    assert imported.split(".")[0] not in ALLOWED[package]
    assert path in str(found[0]) and imported in str(found[0])


def test_the_checker_finds_a_cycle_the_type_checker_alone_follows(tmp_path: Path) -> None:
    upload = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from clients.client import ConsultaClient\n"
    )
    root = _tree(tmp_path, {**CLEAN, "clients/upload.py": upload})
    assert cycles(root, "clients") == [["clients.client", "clients.upload"]]
    assert violations(root) == []  # within one package: a cycle, not a broken rule


def test_relative_imports_resolve_to_the_module_they_name(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "server/__init__.py": "from . import app\n",
            "server/app.py": "from .service import S\nfrom . import watch\n",
            "server/sub/__init__.py": "",
            "server/sub/deep.py": "from ..service import S\n",
        },
    )
    modules = {
        path: [(i.module, i.names) for i in imports_in(root, root / path)]
        for path in ("server/__init__.py", "server/app.py", "server/sub/deep.py")
    }
    assert modules == {
        "server/__init__.py": [("server", ("app",))],
        "server/app.py": [("server.service", ("S",)), ("server", ("watch",))],
        "server/sub/deep.py": [("server.service", ("S",))],
    }
