"""The Bedrock note engine: aioboto3's ConverseStream against a loopback event-stream fake."""

from __future__ import annotations

import pytest

from core.domain import Note, Segment, Speaker, Transcript
from workers.engines.base import NoteDelta, NoteRequest, NoteUpdate
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.notes.bedrock import BedrockSummarizer

from .fakes.aws import FakeBedrock
from .fakes.server import BreakStream, Hang, Malformed, Status
from .support import context

pytestmark = pytest.mark.providers

TRANSCRIPT = Transcript(
    segments=(
        Segment(0, 0.0, 2.0, "¿Qué le pasa?", Speaker.CLINICIAN),
        Segment(1, 2.0, 5.0, "Me duele la garganta desde ayer.", Speaker.PATIENT),
    ),
    language="es",
    engine="test",
)
REPLY = "## subjective\nDolor de garganta desde ayer. [1]\n## plan\nReposo. [0, 1]\n"


async def summarize(fake: FakeBedrock, **settings: object) -> list[NoteUpdate]:
    engine = BedrockSummarizer(context(bedrock_endpoint_url=fake.url, **settings))
    try:
        return [u async for u in engine.summarize(TRANSCRIPT, NoteRequest(language="es"))]
    finally:
        await engine.aclose()


async def test_streams_text_and_never_reasoning(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.reasoning = "REASONING-FIELD about the throat"
    fake_bedrock.reply = "<think>REASONING-TAG</think>" + REPLY
    *deltas, note = await summarize(fake_bedrock)
    assert isinstance(note, Note)
    assert note.engine == "bedrock:us.deepseek.r1-v1:0"
    assert [(s.title, [(x.text, x.evidence) for x in s.sentences]) for s in note.sections] == [
        ("Subjetivo", [("Dolor de garganta desde ayer.", (1,))]),
        ("Objetivo", []),
        ("Evaluación", []),
        ("Plan", [("Reposo.", (0, 1))]),
    ]
    streamed = "".join(d.text for d in deltas if isinstance(d, NoteDelta))
    assert "REASONING" not in streamed and "Dolor de garganta" in streamed
    sent = fake_bedrock.requests[0]
    assert sent.path == "/model/us.deepseek.r1-v1:0/converse-stream"
    assert "in Spanish" in sent.fields["system"][0]["text"]
    assert sent.fields["messages"][0]["content"][0]["text"].startswith("Transcript (language es)")
    assert sent.fields["inferenceConfig"]["maxTokens"] == 4096
    assert sent.headers["Authorization"].startswith("AWS4-HMAC-SHA256")


async def test_throttling_and_500_are_retried(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.reply = REPLY
    fake_bedrock.faults.extend([Status(429), Status(500)])
    *_, note = await summarize(fake_bedrock)
    assert isinstance(note, Note)
    assert len(fake_bedrock.requests) == 3


async def test_throttling_past_the_budget(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.faults.extend([Status(429), Status(429)])
    with pytest.raises(
        RetryableEngineError, match=r"Amazon Bedrock is rate limiting us.*ThrottlingException"
    ):
        await summarize(fake_bedrock, provider_max_attempts=2)


async def test_validation_error_is_permanent(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.faults.append(Status(400, {"message": "The model id is invalid."}))
    with pytest.raises(
        PermanentEngineError, match=r"rejected the request \(HTTP 400\).*model id is invalid"
    ):
        await summarize(fake_bedrock)
    assert len(fake_bedrock.requests) == 1


async def test_timeout(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.faults.extend([Hang(), Hang()])
    with pytest.raises(RetryableEngineError, match="did not answer in time"):
        await summarize(fake_bedrock, provider_max_attempts=2)


async def test_malformed_event_stream(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.faults.append(
        Malformed(b"\x00\x00\x00\x10garbage-garbage!", "application/vnd.amazon.eventstream")
    )
    with pytest.raises(
        PermanentEngineError, match="Amazon Bedrock sent an event stream we could not read"
    ):
        await summarize(fake_bedrock)
    assert len(fake_bedrock.requests) == 1


async def test_stream_error_before_text_is_retried(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.reply = REPLY
    fake_bedrock.faults.append(BreakStream(after=1))
    *_, note = await summarize(fake_bedrock)
    assert isinstance(note, Note)
    assert len(fake_bedrock.requests) == 2


async def test_stream_error_after_text_goes_to_the_worker(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.reply = REPLY
    fake_bedrock.faults.append(BreakStream(after=5))
    with pytest.raises(RetryableEngineError, match=r"temporary failure.*ModelStreamErrorException"):
        await summarize(fake_bedrock)
    assert len(fake_bedrock.requests) == 1


async def test_throttling_inside_the_stream_is_a_rate_limit(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.stream_exception = "throttlingException"
    fake_bedrock.faults.extend([BreakStream(after=1), BreakStream(after=1)])
    with pytest.raises(RetryableEngineError, match="Amazon Bedrock is rate limiting us"):
        await summarize(fake_bedrock, provider_max_attempts=2)
    assert len(fake_bedrock.requests) == 2
