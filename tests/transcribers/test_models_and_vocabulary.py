"""The multilingual model joined from its two packages, and the hotwords a job sends."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from workers.engines.errors import PermanentEngineError
from workers.engines.transcribers.models import (
    BASE_MODEL_SHA256,
    join_parts,
    multilingual_model_path,
)
from workers.engines.transcribers.vocabulary import (
    BUDGET_CHARS,
    MAX_BUILTIN,
    builtin_terms,
    hotwords,
)


def test_the_base_model_is_joined_once_with_its_checksum_and_side_files(tmp_path: Path) -> None:
    folder = multilingual_model_path(tmp_path)
    model = folder / "model.bin"
    digest = hashlib.sha256()
    with model.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    assert digest.hexdigest() == BASE_MODEL_SHA256
    for name in ("tokenizer.json", "config.json", "vocabulary.txt"):
        assert (folder / name).stat().st_size > 0
    joined_at = model.stat().st_mtime_ns
    assert multilingual_model_path(tmp_path) == folder
    assert model.stat().st_mtime_ns == joined_at  # not joined again
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"half one")
    parts[1].write_bytes(b"half two, tampered")
    target = tmp_path / "cache" / "model.bin"
    target.parent.mkdir()
    with pytest.raises(PermanentEngineError, match="checksum"):
        join_parts(parts, target, hashlib.sha256(b"half onehalf two").hexdigest())
    assert list(target.parent.iterdir()) == []
    join_parts(parts, target, hashlib.sha256(b"half onehalf two, tampered").hexdigest())
    assert target.read_bytes() == b"half onehalf two, tampered"


def test_job_vocabulary_comes_first_then_builtin_names_within_the_budget() -> None:
    # By default only the job's own hints go (built-in names made tiny.en invent drugs).
    assert hotwords(["Entresto", "sacubitril", "entresto"]) == "Entresto, sacubitril"
    words = hotwords(["Entresto", "sacubitril", "entresto"], builtin_count=100)
    assert words is not None
    names = words.split(", ")
    assert names[:2] == ["Entresto", "sacubitril"]  # repeated hint dropped
    assert 0 < len(names) - 2 <= MAX_BUILTIN
    assert len(words) <= BUDGET_CHARS
    assert hotwords(["a"], builtin_count=2, builtin=["b", "c", "d"]) == "a, b, c"
    assert hotwords([]) is None
    assert hotwords(["x" * 1000], builtin_count=1, builtin=["aspirin"]) == "aspirin"


def test_builtin_terms_are_drugs_in_the_lexicon() -> None:
    from drug_named_entity_recognition import drugs_finder

    terms = builtin_terms()
    assert len(terms) >= MAX_BUILTIN
    missing = [t for t in terms if t not in drugs_finder.drug_canonical_to_data]
    assert missing == []
