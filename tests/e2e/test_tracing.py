"""Traces: one job is one connected trace, from the RPC that accepted it, through the job
queue (in process, or RabbitMQ message headers when scaled out), to the worker's stages; and
no span carries patient text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, run_to_end
from tests.support import eventually
from tests.support.tracing import attribute_texts, span_exporter

CREATE_JOB = "/consulta.v1.TranscriptionService/CreateJob"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = span_exporter()
    exporter.clear()
    yield exporter
    exporter.clear()


def one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_job_is_one_connected_trace_without_patient_text(
    spans: InMemorySpanExporter, deployment: Deployment
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    job = (
        await stub.CreateJob(pb.CreateJobRequest(audio_content=wav_bytes(seconds=8)), metadata=auth)
    ).job
    final = await run_to_end(stub, job.job_id, auth)
    assert final[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED

    def ours(span: ReadableSpan) -> bool:
        # The tracer provider is process-wide: a worker of an earlier test that is still
        # winding down can record spans too. This job's spans name it.
        return span.attributes is not None and span.attributes.get("consulta.job_id") == job.job_id

    def job_spans() -> list[ReadableSpan]:
        finished = list(spans.get_finished_spans())
        # The consumer span ends after the message is acknowledged, just after the last event.
        consumed = [s for s in finished if s.kind is SpanKind.CONSUMER and ours(s)]
        return finished if consumed else []

    finished = await eventually(job_spans, what="the worker's span to end")
    rpc = one(finished, CREATE_JOB)
    assert rpc.kind is SpanKind.SERVER
    [send] = [s for s in finished if s.kind is SpanKind.PRODUCER and ours(s)]
    [process] = [s for s in finished if s.kind is SpanKind.CONSUMER and ours(s)]
    transcribe = one(finished, "transcribe")
    note = one(finished, "note")

    assert rpc.context is not None and send.context is not None and process.context is not None
    trace_id = rpc.context.trace_id
    for span in (send, process, transcribe, note):
        assert span.context is not None and span.context.trace_id == trace_id, span.name
    # Server -> queue -> worker -> stages, each the child of the one before.
    assert parent_id(send) == rpc.context.span_id
    assert parent_id(process) == send.context.span_id
    assert parent_id(transcribe) == process.context.span_id
    assert parent_id(note) == process.context.span_id
    assert process.attributes is not None
    assert process.attributes["consulta.job_id"] == job.job_id
    assert process.attributes["consulta.outcome"] == "ack"

    # Ids and names only: no transcript or note text in any span of the job.
    transcript = await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    summary = await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)
    phrases = [s.text.strip() for s in transcript.transcript.segments]
    phrases += [line.strip() for line in summary.summary.rendered_text.splitlines()]
    phrases = [p for p in phrases if len(p) >= 12]
    assert phrases, "the job produced no text to look for"
    texts = attribute_texts(list(spans.get_finished_spans()))
    leaked = [p for p in phrases if any(p in t for t in texts)]
    assert not leaked
