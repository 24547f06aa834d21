"""The unary read path (Core statements, the verified-token cache, a pool without pre-ping):
each caller still sees only its own jobs, a delete on one server is seen by every server at
once, and a pooled connection the database dropped costs no caller an error."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb

from app.devstack.seaweed import S3Endpoint
from core.settings import Settings
from tests.e2e.conftest import delete_rabbitmq_queues, scaled_settings
from tests.e2e.deployment import Deployment, start_deployment
from tests.e2e.test_jobs import text_job
from tests.support.services import POSTGRES_URL, drop_other_connections


async def code_of(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_cached_tokens_keep_callers_apart(deployment: Deployment) -> None:
    job = await text_job(deployment, "alice")
    stub = deployment.stub()
    alice, bob = deployment.auth("alice"), deployment.auth("bob")
    get = pb.GetJobRequest(job_id=job.job_id)
    # Interleaved, so each token is verified once and then answered from the cache.
    for _ in range(3):
        assert (await stub.GetJob(get, metadata=alice)).job.job_id == job.job_id
        assert await code_of(stub.GetJob(get, metadata=bob)) == grpc.StatusCode.NOT_FOUND
        assert (await stub.ListJobs(pb.ListJobsRequest(), metadata=bob)).jobs == []
        listed = await stub.ListJobs(pb.ListJobsRequest(), metadata=alice)
        assert [j.job_id for j in listed.jobs] == [job.job_id]


@pytest.mark.stack
async def test_a_job_deleted_on_one_server_is_gone_on_the_other_at_once(
    tmp_path: Path, s3_endpoint: S3Endpoint
) -> None:
    settings = await scaled_settings(tmp_path, s3_endpoint)
    deployment = await start_deployment("scaled", settings, servers=2)
    try:
        job = await text_job(deployment, "alice")
        alice = deployment.auth("alice")
        first, second = deployment.stub(0), deployment.stub(1)
        get = pb.GetJobRequest(job_id=job.job_id)
        assert (await second.GetJob(get, metadata=alice)).job.job_id == job.job_id
        await first.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=alice)
        # No waiting: the very next read on the other server already misses it.
        assert await code_of(second.GetJob(get, metadata=alice)) == grpc.StatusCode.NOT_FOUND
        listed = await second.ListJobs(pb.ListJobsRequest(), metadata=alice)
        assert listed.jobs == []
    finally:
        await deployment.stop()
        await delete_rabbitmq_queues(settings)


@pytest.mark.stack
async def test_reads_survive_pooled_connections_the_database_dropped(
    tmp_path: Path, s3_endpoint: S3Endpoint
) -> None:
    settings: Settings = await scaled_settings(tmp_path, s3_endpoint)
    deployment = await start_deployment("scaled", settings)
    try:
        job = await text_job(deployment, "alice")
        stub, alice = deployment.stub(), deployment.auth("alice")
        get = pb.GetJobRequest(job_id=job.job_id)
        await stub.GetJob(get, metadata=alice)  # the server's pool now holds a connection
        assert await drop_other_connections(POSTGRES_URL) >= 1
        # The pool does not ping on checkout: the dead connection is found by the read
        # itself, which is retried once on a fresh connection instead of failing.
        assert (await stub.GetJob(get, metadata=alice)).job.job_id == job.job_id
        assert await code_of(stub.ListJobs(pb.ListJobsRequest(), metadata=alice)) == (
            grpc.StatusCode.OK
        )
    finally:
        await deployment.stop()
        await delete_rabbitmq_queues(settings)
