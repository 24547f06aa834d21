"""Failed calls become clients.errors types carrying the google.rpc details."""

from __future__ import annotations

import grpc
import pytest

from clients.client import ConsultaClient
from clients.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
    Unauthenticated,
)
from core.auth import mint_token
from tests.clients.fake_consulta import (
    FakeConsulta,
    Injected,
    bad_request,
    error_info,
    retry_info,
)
from tests.clients.fake_server_thread import ServerThread


async def test_bad_request_becomes_invalid_argument_with_field_violations(
    server: ServerThread, token: str
) -> None:
    async with ConsultaClient(server.target, token=token) as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.create_job(transcript_text="   ")

    error = caught.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == "The transcript is empty."
    assert error.violations == (FieldViolation("transcript_text", "must not be empty"),)
    assert "transcript_text: must not be empty" in error.explain()


async def test_resource_exhausted_carries_reason_and_retry_delay(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    fake.injected["ListJobs"] = Injected(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "The server is at capacity.",
        [error_info("AT_CAPACITY", limit="8"), retry_info(2.5)],
    )
    async with ConsultaClient(server.target, token=token) as client:
        with pytest.raises(ResourceExhausted) as caught:
            _ = [job async for job in client.list_jobs()]

    error = caught.value
    assert error.reason == "AT_CAPACITY"
    assert error.details.domain == "consulta.v1"
    assert error.details.metadata == {"limit": "8"}
    assert error.retry_delay == 2.5
    assert "retry in 2.5 s" in error.explain()
    assert "[AT_CAPACITY]" in error.explain()


async def test_error_without_details_keeps_code_and_message(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    job_id = "1"
    async with ConsultaClient(server.target, token=token) as client:
        job = await client.create_job(transcript_text="Doctor: hi")
        job_id = job.job_id
        fake.jobs[job_id].transcript = None
        with pytest.raises(FailedPrecondition) as caught:
            await client.get_transcript(job_id)
    assert caught.value.message == "No transcript yet."
    assert caught.value.violations == ()
    assert caught.value.retry_delay is None


async def test_several_violations_are_all_kept(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    fake.injected["CreateJob"] = Injected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "The request is malformed.",
        [bad_request(("config.language_code", "not BCP-47"), ("config.template", "unknown"))],
    )
    async with ConsultaClient(server.target, token=token) as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.create_job(transcript_text="Doctor: hi")
    assert [v.field for v in caught.value.violations] == ["config.language_code", "config.template"]


async def test_a_token_from_another_deployment_is_unauthenticated(server: ServerThread) -> None:
    forged = mint_token("another-deployment-secret-of-32-bytes", "dr-house")
    async with ConsultaClient(server.target, token=forged) as client:
        with pytest.raises(Unauthenticated):
            await client.get_job("x")


async def test_no_token_is_unauthenticated(server: ServerThread) -> None:
    async with ConsultaClient(server.target, token=None) as client:
        with pytest.raises(Unauthenticated) as caught:
            await client.get_job("x")
    assert "bearer token" in caught.value.message
