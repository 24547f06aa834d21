"""eval/results/latest.json: one flat object that several evaluations share.

Each evaluation read-modify-writes its own keys and keeps the others' (the WER half writes
``wer_*``), through a temporary file and a rename so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

LATEST = Path(__file__).resolve().parent / "results" / "latest.json"


def merge_results(values: dict[str, float | str], path: Path = LATEST) -> dict[str, object]:
    """Add ``values`` to the JSON object at ``path`` and return the whole object."""
    current: dict[str, object] = {}
    if path.exists():
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            current = loaded
    current.update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)
    return current


def report(values: dict[str, float | str], output: Path = LATEST, *, write: bool = True) -> None:
    """Print ``key: value`` per figure, then merge them into ``output`` unless ``write`` is
    False (``--no-write`` tuning runs)."""
    for key, value in values.items():
        print(f"{key}: {value}")
    if write:
        merge_results(values, output)
