"""End-to-end fixtures. ``deployment`` runs every test twice: on the embedded default and
scaled out on the machine's PostgreSQL and RabbitMQ and a SeaweedFS S3 store (marker
``stack``; a missing service fails the test, it never skips)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.devstack.seaweed import S3Endpoint
from core.db.migrate import upgrade_engine
from core.settings import Settings
from tests.e2e.deployment import Deployment, start_deployment
from tests.e2e.hand_worker import deployment_without_workers
from tests.support.services import (
    POSTGRES_URL,
    RABBITMQ_URL,
    require_postgres,
    require_rabbitmq,
)

EMBEDDED = pytest.param("embedded", id="embedded")
SCALED = pytest.param("scaled", id="scaled", marks=pytest.mark.stack)


async def reset_postgres() -> None:
    """Fresh schema for each test: drop everything and migrate from nothing."""
    require_postgres()
    engine = create_async_engine(POSTGRES_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


def base_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "grpc_listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "jwt_secret": "test-secret-" + uuid.uuid4().hex,
        "shutdown_grace_seconds": 2.0,
        "lease_seconds": 6.0,
        "sweep_interval_seconds": 0.5,
        "requeue_after_seconds": 3.0,
        "queue_retry_delays_seconds": (0.2, 0.5),
        "queue_max_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def scaled_settings(tmp_path: Path, s3: S3Endpoint, **overrides: object) -> Settings:
    require_rabbitmq()
    await reset_postgres()
    tag = uuid.uuid4().hex[:10]
    return base_settings(
        tmp_path,
        database_url=POSTGRES_URL,
        blob_url=f"s3://t-{tag}/audio",
        s3_endpoint_url=s3.url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
        s3_create_bucket=True,
        s3_part_size_bytes=5 << 20,
        queue_url=RABBITMQ_URL,
        rabbitmq_prefix=f"t{tag}",
        **overrides,
    )


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI remembers unfinished uploads under $XDG_STATE_HOME: a test's own folder, never
    the developer's (subprocesses inherit it)."""
    folder = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder


@pytest.fixture(params=[EMBEDDED, SCALED])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if kind == "embedded":
        return base_settings(tmp_path)
    s3: S3Endpoint = request.getfixturevalue("s3_endpoint")
    return await scaled_settings(tmp_path, s3)


@pytest.fixture
async def deployment(kind: str, settings: Settings) -> AsyncIterator[Deployment]:
    async with _cleaned_up(await start_deployment(kind, settings), settings) as running:
        yield running


@pytest.fixture
async def idle(kind: str, settings: Settings) -> AsyncIterator[Deployment]:
    """A deployment with no workers: a test plays the worker (tests/e2e/hand_worker.py)."""
    async with _cleaned_up(await deployment_without_workers(kind, settings), settings) as running:
        yield running


@contextlib.asynccontextmanager
async def _cleaned_up(running: Deployment, settings: Settings) -> AsyncIterator[Deployment]:
    """``running``, stopped afterwards with its RabbitMQ queues deleted."""
    try:
        yield running
    finally:
        await running.stop()
        await delete_rabbitmq_queues(settings)


async def delete_rabbitmq_queues(settings: Settings) -> None:
    if not settings.queue_url.startswith("amqp"):
        return
    from core.queue.rabbitmq import RabbitJobQueue

    # The same retry delays as the deployment, or its retry queues are not the ones deleted
    # (they were left on the shared broker by every scaled test).
    queue = RabbitJobQueue(
        settings.queue_url,
        prefix=settings.rabbitmq_prefix,
        retry_delays=settings.queue_retry_delays_seconds,
    )
    try:
        await queue.delete_queues()
    finally:
        await queue.aclose()
