"""No hand-written Python module over 450 lines (issue 12): a module that long does more than
one thing, and should be split by what it does.

Data tables (word lists a rule reads, nothing else) may be longer; each is named in
:data:`DATA_TABLES` with its reason. Generated code (``gen/``) and installed packages are not
ours and are not counted.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 450

#: Modules allowed over the limit, by path from the repository root, each with its reason.
#: Only data tables belong here. An entry that no longer exists or is back under the limit
#: fails the test too, so the list never outlives its reason.
DATA_TABLES: dict[str, str] = {}

# Folders never counted: generated code, virtual environments, caches, CDK output.
_SKIPPED_DIRS = {"gen", "cdk.out", "node_modules", "__pycache__"}


def python_modules(root: Path) -> list[Path]:
    """Every .py file under ``root`` outside generated, hidden and build folders."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in _SKIPPED_DIRS and not d.endswith(".egg-info")
        ]
        found.extend(Path(folder) / f for f in files if f.endswith(".py"))
    return sorted(found)


def line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def oversized(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """Modules over ``limit`` lines, by path from ``root``, with their length."""
    sizes = {p.relative_to(root).as_posix(): line_count(p) for p in python_modules(root)}
    return {path: n for path, n in sizes.items() if n > limit}


def test_no_module_is_over_the_limit_apart_from_data_tables() -> None:
    too_long = {p: n for p, n in oversized(ROOT).items() if p not in DATA_TABLES}
    assert not too_long, f"modules over {LIMIT} lines; split them by what they do: {too_long}"


def test_every_allowed_table_is_still_over_the_limit() -> None:
    long_now = oversized(ROOT)
    stale = [path for path in DATA_TABLES if path not in long_now]
    assert not stale, f"remove from DATA_TABLES (gone or under {LIMIT} lines): {stale}"


def test_the_count_sees_a_long_module_and_skips_generated_code(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * LIMIT)
    for skipped in ("gen", ".venv", "infra/cdk.out"):
        (tmp_path / skipped).mkdir(parents=True)
        (tmp_path / skipped / "big.py").write_text("x = 1\n" * 1000)
    assert oversized(tmp_path) == {"pkg/long.py": LIMIT + 1}
