"""The Alembic migrations build exactly the tables the models describe, on SQLite and on
PostgreSQL, so a model change without its migration fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
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
