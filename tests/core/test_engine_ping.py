"""The PostgreSQL pool's check at checkout (core/db/engine.py): a pooled connection that
died behind the pool's back (a database restart, an idle timeout) is replaced before the
caller uses it, so the caller never sees the dead one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from core.db.engine import create_engine
from core.settings import Settings
from tests.support.services import POSTGRES_URL

pytestmark = pytest.mark.stack


async def test_a_pooled_connection_killed_behind_the_pools_back_is_replaced(
    tmp_path: Path,
) -> None:
    engine = create_engine(Settings(data_dir=tmp_path, database_url=POSTGRES_URL))
    admin = create_engine(Settings(data_dir=tmp_path, database_url=POSTGRES_URL))
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # Back in the pool: the next checkout gets the same connection while it lives.
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() == first
        async with admin.connect() as conn:
            killed = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            assert killed.scalar_one() is True
        async with engine.connect() as conn:
            second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()
        await admin.dispose()
