"""PostgreSQL's one-statement worker write (core/db/one_statement.py) is built once per
shape of write and bound with each write's values: its SQL carries no value of its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects import postgresql

from core.db.one_statement import one_statement_record

NOW = datetime(2026, 12, 4, 21, 0, 0)


def _write(job_id: str, seq: int, payload: bytes) -> tuple[Select[Any], dict[str, Any]]:
    return one_statement_record(
        job_id,
        "worker-" + job_id,
        expected_seq=seq,
        values={"updated_at": NOW, "progress": 0.5},
        events=[(seq + 1, payload)],
        now=NOW,
    )


def test_writes_of_one_shape_share_one_statement_and_differ_only_in_their_parameters() -> None:
    first, first_params = _write("job-1", 3, b"one")
    second, second_params = _write("job-2", 8, b"two")
    assert first is second
    assert first_params["job_id"] == "job-1" and second_params["job_id"] == "job-2"
    assert (first_params["expected_seq"], first_params["new_seq"]) == (3, 4)
    assert (second_params["seq_0"], second_params["payload_0"]) == (9, b"two")
    sql = str(first.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    for value in ("job-1", "worker-job-1", "0.5", "one"):
        assert value not in sql
    # The terminal states are constants of the statement, not a parameter expanded per call.
    assert "'completed'" in sql and "POSTCOMPILE" not in sql


def test_another_shape_is_another_statement() -> None:
    one_event, _ = _write("job-1", 3, b"one")
    two_events, params = one_statement_record(
        "job-1",
        "worker-job-1",
        expected_seq=3,
        values={"updated_at": NOW, "progress": 0.5},
        events=[(4, b"a"), (5, b"b")],
        now=NOW,
    )
    assert two_events is not one_event
    assert params["new_seq"] == 5 and params["payload_1"] == b"b"
