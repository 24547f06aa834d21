"""Tables. Times are naive UTC (the same in SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    """A job. State changes are conditional updates; ``event_seq`` numbers its events."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    tenant: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    config_json: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    template: Mapped[str] = mapped_column(String(32))
    transcriber: Mapped[str] = mapped_column(String(64))
    summarizer: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))  # "audio" or "text"
    audio_key: Mapped[str | None] = mapped_column(String(512))
    audio_size: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_sha256: Mapped[str] = mapped_column(String(64), default="")
    audio_duration: Mapped[float] = mapped_column(Float, default=0.0)
    audio_channels: Mapped[int] = mapped_column(Integer, default=0)
    # A JSON list of core.audio_warnings.AudioWarning fields: audio cut short or of poor
    # quality that was transcribed anyway.
    warnings_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    filename: Mapped[str] = mapped_column(String(255), default="", server_default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error_code: Mapped[str] = mapped_column(String(32), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        # Scoped by tenant too: user names are only unique within a tenant.
        UniqueConstraint(
            "tenant", "owner", "idempotency_key", name="uq_jobs_tenant_owner_idempotency_key"
        ),
        Index("ix_jobs_owner_created", "owner", created_at.desc(), id.desc()),
        Index("ix_jobs_tenant_created", "tenant", created_at.desc(), id.desc()),
        Index("ix_jobs_state_updated", "state", "updated_at"),
    )


class TranscriptRow(Base):
    """A job's transcript; ``segments_json`` is a list of segment objects."""

    __tablename__ = "transcripts"

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(35))
    engine: Mapped[str] = mapped_column(String(128))
    segments_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SummaryRow(Base):
    """A job's note; ``sections_json`` is a list of section objects with evidence."""

    __tablename__ = "summaries"

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    template: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(35))
    engine: Mapped[str] = mapped_column(String(128))
    sections_json: Mapped[str] = mapped_column(Text)
    rendered: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class EventRow(Base):
    """One serialized ``consulta.v1.JobEvent``: the job's event log, for gap-free WatchJob."""

    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class UploadRow(Base):
    """An upload in progress or done: what is committed, so any server can resume it."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    tenant: Mapped[str] = mapped_column(String(255))
    config: Mapped[bytes] = mapped_column(LargeBinary)  # serialized consulta.v1.UploadConfig
    blob_key: Mapped[str] = mapped_column(String(512))
    multipart_handle: Mapped[str] = mapped_column(String(1024))
    parts_json: Mapped[str] = mapped_column(Text, default="[]")
    committed_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_uploads_complete_updated", "complete", "updated_at"),)


class AuditRow(Base):
    """One audit event: who did what to which job, when, and how it ended.

    Append-only: nothing in the code updates or deletes these rows, and triggers made by
    migration 0003 refuse UPDATE and DELETE on both databases. No patient data goes here.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime)
    subject: Mapped[str] = mapped_column(String(255))
    tenant: Mapped[str] = mapped_column(String(255))
    roles: Mapped[str] = mapped_column(String(255))  # sorted, comma-separated
    action: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(64))  # "" when the call named no job
    outcome: Mapped[str] = mapped_column(String(32))  # a google.rpc.Code name

    __table_args__ = (
        Index("ix_audit_tenant_id", "tenant", "id"),
        Index("ix_audit_tenant_job_id", "tenant", "job_id", "id"),
        Index("ix_audit_tenant_subject_id", "tenant", "subject", "id"),
    )


class RetentionRow(Base):
    """A tenant's retention period: terminal jobs older than it are erased by the sweeper."""

    __tablename__ = "retention_policies"

    tenant: Mapped[str] = mapped_column(String(255), primary_key=True)
    retention_seconds: Mapped[int] = mapped_column(BigInteger)  # 0 keeps jobs until deleted
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(255))
