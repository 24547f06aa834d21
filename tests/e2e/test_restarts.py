"""The database restarts in the middle of a job (a private PostgreSQL, never the shared one):
the job still finishes, exactly once, and callers see UNAVAILABLE, not INTERNAL, meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from prometheus_client import REGISTRY

from app.devstack.seaweed import S3Endpoint
from clients.client import ConsultaClient
from core.db.engine import create_engine
from core.db.migrate import upgrade_engine
from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import delete_rabbitmq_queues, scaled_settings
from tests.e2e.deployment import start_deployment
from tests.e2e.test_pipeline import upload
from tests.support.private_postgres import PrivatePostgres, private_postgres

pytestmark = pytest.mark.stack


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


async def test_a_database_restart_mid_job_loses_nothing(
    postgres: PrivatePostgres, tmp_path: Path, s3_endpoint: S3Endpoint
) -> None:
    settings = (await scaled_settings(tmp_path, s3_endpoint)).model_copy(
        update={"database_url": postgres.url, "lease_seconds": 3.0}
    )
    engine = create_engine(settings)
    await upgrade_engine(engine)
    await engine.dispose()
    deployment = await start_deployment("scaled", settings)
    try:
        job, _ = await upload(deployment, wav_bytes())  # the 84 s sample: seconds of work
        stub, auth = deployment.stub(), deployment.auth()
        watch = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth)
        async for message in watch:
            if message.event.HasField("segment"):
                break
        watch.cancel()

        retried = REGISTRY.get_sample_value("consulta_jobs_retried_total") or 0.0
        await asyncio.to_thread(postgres.stop)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        await asyncio.sleep(1)  # the outage lasts a moment, as a failover would
        await asyncio.to_thread(postgres.start)

        async with ConsultaClient(
            f"127.0.0.1:{deployment.server.port}", token=deployment.token()
        ) as client:
            events = [m.event async for m in client.watch(job.job_id) if m.HasField("event")]
        assert events[-1].state_changed.state == job_pb2.JOB_STATE_COMPLETED
        assert sum(e.HasField("note_completed") for e in events) == 1
        sequences = [e.sequence for e in events]
        assert sequences == list(range(1, len(sequences) + 1))
        # The worker did meet the outage (and retried instead of failing the job).
        assert (REGISTRY.get_sample_value("consulta_jobs_retried_total") or 0.0) > retried
    finally:
        await deployment.stop()
        await delete_rabbitmq_queues(settings)
