"""Alembic environment: runs migrations over the async engine that ``migrate.py`` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from core.db.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through `consulta db upgrade` (core.db.migrate).")
_run(connection)
