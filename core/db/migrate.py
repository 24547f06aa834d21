"""Schema migrations with Alembic, run programmatically over the async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import create_engine
from core.settings import Settings

_MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema behind ``engine`` to ``revision``."""

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def upgrade(settings: Settings, revision: str = "head") -> None:
    """``consulta db upgrade``: migrate the configured database."""
    engine = create_engine(settings)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()
