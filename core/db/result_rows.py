"""A worker's results as rows: the transcript and the note, built from the domain and
written as upserts (a job taken over may write its result again)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db.models import SummaryRow, TranscriptRow
from core.db.one_statement import result_values
from core.db.serialize import note_to_json, transcript_to_json
from core.domain import Note, Transcript


def transcript_row(job_id: str, transcript: Transcript, now: datetime) -> TranscriptRow:
    return TranscriptRow(
        job_id=job_id,
        language=transcript.language,
        engine=transcript.engine,
        segments_json=transcript_to_json(transcript),
        created_at=now,
    )


def summary_row(job_id: str, note: Note, now: datetime) -> SummaryRow:
    return SummaryRow(
        job_id=job_id,
        template=note.template.value,
        language=note.language,
        engine=note.engine,
        sections_json=note_to_json(note),
        rendered=note.render(),
        created_at=now,
    )


def upsert(dialect: str, row: TranscriptRow | SummaryRow) -> Executable:
    """INSERT the result row, or UPDATE the job's existing one: one statement where
    session.merge was a SELECT and then an INSERT or UPDATE (same syntax on PostgreSQL and
    SQLite)."""
    table, values = result_values(row)
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make(table).values(**values)
    return statement.on_conflict_do_update(
        index_elements=[table.c.job_id],
        set_={name: statement.excluded[name] for name in values if name != "job_id"},
    )
