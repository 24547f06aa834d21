"""The unary read path (Core statements, the verified-token cache, a pool without pre-ping,
the job cache on the embedded default): each caller still sees only its own jobs, a delete on
one server is seen by every server at once, a worker's progress is seen through the cache, and
a pooled connection the database dropped costs no caller an error."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from app.devstack.seaweed import S3Endpoint
from core.settings import Settings
from tests.e2e.conftest import base_settings, delete_rabbitmq_queues, scaled_settings
from tests.e2e.deployment import Deployment, run_to_end, start_deployment
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


async def test_the_embedded_job_cache_sees_every_write_at_once(tmp_path: Path) -> None:
    # An hour's TTL: only the store's invalidation can make these reads fresh.
    settings = base_settings(tmp_path, job_cache_ttl_seconds=3600.0)
    deployment = await start_deployment("embedded", settings)
    try:
        assert deployment.server.runtime.store.cache is not None  # on by default for SQLite
        job = await text_job(deployment, "alice")
        stub, alice, bob = deployment.stub(), deployment.auth("alice"), deployment.auth("bob")
        get = pb.GetJobRequest(job_id=job.job_id)
        assert (await stub.GetJob(get, metadata=alice)).job.job_id == job.job_id
        # The embedded worker moves the job on; the next read shows where it ended.
        await run_to_end(stub, job.job_id, alice)
        done = (await stub.GetJob(get, metadata=alice)).job
        assert done.state == job_pb2.JOB_STATE_COMPLETED
        assert await code_of(stub.GetJob(get, metadata=bob)) == grpc.StatusCode.NOT_FOUND
        await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=alice)
        assert await code_of(stub.GetJob(get, metadata=alice)) == grpc.StatusCode.NOT_FOUND
    finally:
        await deployment.stop()


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
async def test_a_cache_forced_on_over_postgresql_is_stale_at_most_its_ttl(
    tmp_path: Path, s3_endpoint: S3Endpoint
) -> None:
    # Why the cache is off for PostgreSQL by default: another server's delete reaches this
    # one's cache only when the entry ends. The deleting server itself sees it at once.
    ttl = 1.0
    settings = await scaled_settings(
        tmp_path, s3_endpoint, job_cache="on", job_cache_ttl_seconds=ttl
    )
    deployment = await start_deployment("scaled", settings, servers=2)
    try:
        assert all(s.runtime.store.cache is not None for s in deployment.servers)
        job = await text_job(deployment, "alice")
        alice, bob = deployment.auth("alice"), deployment.auth("bob")
        first, second = deployment.stub(0), deployment.stub(1)
        get = pb.GetJobRequest(job_id=job.job_id)
        assert (await second.GetJob(get, metadata=alice)).job.job_id == job.job_id
        assert await code_of(second.GetJob(get, metadata=bob)) == grpc.StatusCode.NOT_FOUND
        await first.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=alice)
        deleted = time.monotonic()
        assert await code_of(first.GetJob(get, metadata=alice)) == grpc.StatusCode.NOT_FOUND
        while await code_of(second.GetJob(get, metadata=alice)) == grpc.StatusCode.OK:
            assert time.monotonic() - deleted < ttl + 1.0, "served past its TTL"
            await asyncio.sleep(0.05)
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
