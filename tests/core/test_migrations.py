"""The Alembic migrations build exactly the tables the models describe, on SQLite and on
PostgreSQL, so a model change without its migration fails here."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from core.db.migrate import upgrade_engine
from core.db.models import Base
from tests.e2e.conftest import reset_postgres
from tests.support.services import POSTGRES_URL


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, Base.metadata))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_migrations_match_the_models(database: str, tmp_path: Path) -> None:
    if database == "postgresql":
        await reset_postgres()
        engine = create_async_engine(POSTGRES_URL)
    else:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
        await upgrade_engine(engine)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_upgrade_keeps_existing_jobs(database: str, tmp_path: Path) -> None:
    """A database made by 0001 with a job in it upgrades to head with the job intact, and
    the new idempotency constraint is per tenant."""
    if database == "postgresql":
        await reset_postgres()  # at head; start again from 0001
        engine = create_async_engine(POSTGRES_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    else:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade_engine(engine, "0001")
        async with engine.begin() as conn:
            await conn.execute(text(_INSERT), _job("j1", "hospital-a"))
        await upgrade_engine(engine)
        async with engine.begin() as conn:
            await conn.execute(text(_INSERT), _job("j2", "hospital-b"))
            rows = (await conn.execute(text("SELECT id, tenant FROM jobs ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [("j1", "hospital-a"), ("j2", "hospital-b")]
    finally:
        await engine.dispose()


_INSERT = (
    "INSERT INTO jobs (id, owner, tenant, state, config_json, language, template, transcriber,"
    " summarizer, source, audio_size, audio_sha256, audio_duration, audio_channels,"
    " idempotency_key, progress, error_code, error_message, attempts, event_seq, created_at,"
    " updated_at) VALUES (:id, 'dr-smith', :tenant, 'COMPLETED', '{}', 'en', 'soap', 'local',"
    " 'local', 'text', 0, '', 0, 0, 'visit-1', 1, '', '', 1, 1, :now, :now)"
)


def _job(job_id: str, tenant: str) -> dict[str, object]:
    return {"id": job_id, "tenant": tenant, "now": datetime(2026, 12, 1)}
