"""ACI-Bench (Yim et al., Scientific Data 2023; CC BY 4.0) read from the shared data folder.

The data stays where it is; only its location is configured (``--data`` or
``CONSULTA_EVAL_DATA``, default ``../shared/data`` from the repository root).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"

#: Split name -> file under aci-bench/data/challenge_data.
SPLITS = {
    "train": "train.csv",
    "valid": "valid.csv",
    "test1": "clinicalnlp_taskB_test1.csv",
}
GPT4_TEST1 = "aci-bench/baselines/predictions/test1GPT-4_.csv"
#: The published GPT-4 row of ACI-Bench's test1 table (R-1, R-2, R-Lsum), our calibration.
GPT4_TEST1_PUBLISHED = (51.76, 22.58, 45.97)


@dataclass(frozen=True, slots=True)
class Encounter:
    """One visit: its id, the dialogue and the reference note."""

    encounter_id: str
    dialogue: str
    note: str


def data_dir(option: str | None) -> Path:
    """Where the shared data lives: the option, else CONSULTA_EVAL_DATA, else the default."""
    chosen = option or os.environ.get("CONSULTA_EVAL_DATA") or str(DEFAULT_DATA)
    path = Path(chosen)
    if not (path / "aci-bench").is_dir():
        raise FileNotFoundError(f"no aci-bench/ folder under {path} (set --data)")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    # Notes hold commas, quotes and line breaks inside quoted fields.
    csv.field_size_limit(1 << 24)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def encounters(data: Path, split: str) -> list[Encounter]:
    """The split's encounters, in file order."""
    rows = _rows(data / "aci-bench" / "data" / "challenge_data" / SPLITS[split])
    return [Encounter(r["encounter_id"], r["dialogue"], r["note"]) for r in rows]


def gpt4_test1_predictions(data: Path) -> dict[str, str]:
    """GPT-4's shipped test1 notes by encounter id."""
    return {r["encounter_id"]: r["note"] for r in _rows(data / GPT4_TEST1)}
