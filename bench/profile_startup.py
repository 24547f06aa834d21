"""Where start-up goes: `consulta serve` on a fresh data folder with Python's import-time
report (``PYTHONPROFILEIMPORTTIME``), until /readyz answers 200.

    .venv/bin/python -m bench.profile_startup startup-before

The result, bench/results/profile-<name>.txt, gives the time to ready, the share of it spent
importing, and the imports with the largest cumulative time (a package's time includes what it
imports). Import times are read from one run on a loaded or idle machine alike, so compare the
shares and the module names, not the milliseconds, across machines.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import RESULTS, child_server

TOP = 40
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


@dataclass(frozen=True)
class Imported:
    module: str
    own_us: int
    cumulative_us: int
    depth: int


def parse(log: str) -> list[Imported]:
    """The import-time lines of a log, in the order Python wrote them."""
    found = []
    for line in log.splitlines():
        match = _LINE.match(line)
        if match:
            own, cumulative, indent, module = match.groups()
            found.append(Imported(module, int(own), int(cumulative), len(indent) // 2))
    return found


def summarize(imports: list[Imported], ready_s: float, top: int = TOP) -> str:
    """Time to ready, the import share of it, and the ``top`` imports by cumulative time."""
    total_us = sum(i.cumulative_us for i in imports if i.depth == 0)
    lines = [
        f"time to /readyz 200: {ready_s:.2f} s",
        f"importing (top-level imports' cumulative time): {total_us / 1e6:.2f} s",
        "",
        f"cumulative ms  own ms  module (indent: imported by the line above it), top {top}",
    ]
    for item in sorted(imports, key=lambda i: i.cumulative_us, reverse=True)[:top]:
        lines.append(
            f"{item.cumulative_us / 1000:13.1f} {item.own_us / 1000:7.1f}  "
            f"{'  ' * item.depth}{item.module}"
        )
    return "\n".join(lines) + "\n"


def profile(name: str) -> Path:
    with child_server({"PYTHONPROFILEIMPORTTIME": "1"}) as server:
        text = summarize(parse(server.log.read_text(errors="replace")), server.ready_after)
    out = RESULTS / f"profile-{name}.txt"
    out.write_text(text)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m bench.profile_startup NAME")
    print(profile(sys.argv[1]))
