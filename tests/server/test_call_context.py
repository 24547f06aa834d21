"""Unit tests of server/call_context.py: every call runs with its request id and method bound
(and the job id its request names), so each log line of the call carries them."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core import logs
from core.settings import Settings
from tests.server.interceptor_harness import Harness, bearer

JOB = str(uuid.uuid4())
GET_JOB = "/consulta.v1.TranscriptionService/GetJob"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record at DEBUG and above as a JSON line, through the production handler."""
    stream = io.StringIO()
    handler = logs.build_handler(Settings(log_format="json", log_level="DEBUG"), stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_the_callers_request_id_method_and_job_are_bound_for_the_call(
    harness: Harness,
) -> None:
    metadata = (*bearer(), ("x-request-id", "req-42.a_b"))
    await harness.stub.GetJob(pb.GetJobRequest(job_id=JOB), metadata=metadata)
    assert harness.servicer.contexts == [
        {"request_id": "req-42.a_b", "method": GET_JOB, "job_id": JOB}
    ]


@pytest.mark.parametrize("sent", ["has space", "x" * 65, "semi;colon", ""])
async def test_an_unusable_request_id_is_replaced_by_a_fresh_one(
    harness: Harness, sent: str
) -> None:
    await harness.stub.GetJob(
        pb.GetJobRequest(job_id=JOB), metadata=(*bearer(), ("x-request-id", sent))
    )
    (bound,) = harness.servicer.contexts
    assert bound["request_id"] != sent
    assert re.fullmatch(r"[0-9a-f]{32}", bound["request_id"])


async def test_each_call_gets_its_own_request_id(harness: Harness) -> None:
    for _ in range(3):
        await harness.stub.GetJob(pb.GetJobRequest(job_id=JOB), metadata=bearer())
    ids = [context["request_id"] for context in harness.servicer.contexts]
    assert len(set(ids)) == 3


async def test_a_job_id_that_is_not_a_uuid_is_not_bound(harness: Harness) -> None:
    # A caller's free text (here a name) must never reach the logs as a job id.
    await harness.stub.GetJob(pb.GetJobRequest(job_id="Jane Roe"), metadata=bearer())
    (bound,) = harness.servicer.contexts
    assert "job_id" not in bound and bound["method"] == GET_JOB


async def test_every_line_of_a_call_carries_its_context(
    harness: Harness, json_lines: io.StringIO
) -> None:
    metadata = (*bearer(), ("x-request-id", "trace-me"))
    await harness.stub.GetJob(pb.GetJobRequest(job_id=JOB), metadata=metadata)
    call_lines = [line for line in _lines(json_lines) if line.get("request_id") == "trace-me"]
    messages = [line["message"] for line in call_lines]
    assert "servicer ran GetJob" in messages
    assert any(m.startswith("call ended") for m in messages)  # the DEBUG line at its end
    for line in call_lines:
        assert (line["method"], line["job_id"]) == (GET_JOB, JOB)


async def test_a_streaming_call_is_bound_too(harness: Harness) -> None:
    harness.servicer.gate.set()
    call = harness.stub.WatchJob(
        pb.WatchJobRequest(job_id=JOB), metadata=(*bearer(), ("x-request-id", "watch-1"))
    )
    assert len([message async for message in call]) == 2
    assert harness.servicer.contexts == [
        {
            "request_id": "watch-1",
            "method": "/consulta.v1.TranscriptionService/WatchJob",
            "job_id": JOB,
        }
    ]
