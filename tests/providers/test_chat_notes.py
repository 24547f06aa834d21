"""The chat note engines (Groq, any OpenAI-compatible server) against a loopback fake."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.domain import Note, Segment, Speaker, Template, Transcript
from workers.engines.base import NoteDelta, NoteRequest, NoteUpdate, Summarizer
from workers.engines.cloud.context import ProviderContext
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.notes.groq import GroqSummarizer
from workers.engines.notes.openai_compatible import OpenAICompatibleSummarizer

from .fakes.openai_api import FakeOpenAI
from .fakes.server import BreakStream, Hang, Malformed, Status
from .support import GROQ_KEY, context

pytestmark = pytest.mark.providers

TRANSCRIPT = Transcript(
    segments=(
        Segment(0, 0.0, 2.0, "What brings you in today?", Speaker.CLINICIAN),
        Segment(1, 2.0, 5.0, "I have had a headache for three days.", Speaker.PATIENT),
        Segment(2, 5.0, 7.0, "Your blood pressure is 150 over 95.", Speaker.CLINICIAN),
        Segment(3, 7.0, 9.0, "Take ibuprofen and come back in a week.", Speaker.CLINICIAN),
    ),
    language="en",
    engine="test",
)

REPLY = (
    "Here is the note.\n"
    "## subjective\n"
    "- Headache for three days. [1]\n"
    "## objective\n"
    "Blood pressure 150/95. [2, 99]\n"
    "## assessment\n"
    "Probable tension headache with raised blood pressure. [1][2]\n"
    "## plan\n"
    "Ibuprofen; review in one week. [3]"
)

SOAP_EN = NoteRequest()

Build = Callable[[FakeOpenAI, dict[str, object]], Summarizer]


def groq_engine(fake: FakeOpenAI, settings: dict[str, object]) -> Summarizer:
    return GroqSummarizer(context(groq_base_url=fake.url, **settings))


def compatible_engine(fake: FakeOpenAI, settings: dict[str, object]) -> Summarizer:
    ctx: ProviderContext = context(
        openai_compatible_base_url=fake.url + "/v1", openai_compatible_model="qwen3:8b", **settings
    )
    return OpenAICompatibleSummarizer(ctx)


@pytest.fixture(params=[groq_engine, compatible_engine], ids=["groq", "openai_compatible"])
def build(request: pytest.FixtureRequest) -> Build:
    build: Build = request.param
    return build


async def summarize(
    engine: Summarizer, request: NoteRequest = SOAP_EN, transcript: Transcript = TRANSCRIPT
) -> list[NoteUpdate]:
    try:
        return [u async for u in engine.summarize(transcript, request)]
    finally:
        await engine.aclose()


async def test_streams_a_note_with_evidence_and_no_reasoning(
    build: Build, fake_openai: FakeOpenAI
) -> None:
    fake_openai.chat_reasoning = "The user wants SECRET-REASONING-1."
    fake_openai.chat_reply = "<think>SECRET-REASONING-2 ponder</think>" + REPLY
    updates = await summarize(build(fake_openai, {}))
    *deltas, note = updates
    assert isinstance(note, Note) and all(isinstance(d, NoteDelta) for d in deltas)
    assert len(deltas) == 8  # four headings, four sentences, each as soon as its line ended
    assert [s.key for s in note.sections] == ["subjective", "objective", "assessment", "plan"]
    assert [[(x.text, x.evidence) for x in s.sentences] for s in note.sections] == [
        [("Headache for three days.", (1,))],
        [("Blood pressure 150/95.", (2,))],  # 99 is no segment of this transcript
        [("Probable tension headache with raised blood pressure.", (1, 2))],
        [("Ibuprofen; review in one week.", (3,))],
    ]
    streamed = "".join(d.text for d in deltas if isinstance(d, NoteDelta))
    assert streamed == note.render()
    assert "REASONING" not in streamed and "think" not in streamed
    sent = fake_openai.requests[0].fields
    assert sent["stream"] is True
    assert "[1] PATIENT: I have had a headache for three days." in sent["messages"][1]["content"]
    assert "in English" in sent["messages"][0]["content"]


async def test_groq_asks_reasoning_models_for_parsed_reasoning(fake_openai: FakeOpenAI) -> None:
    fake_openai.chat_reply = REPLY
    engine = groq_engine(fake_openai, {})
    await summarize(engine)
    recorded = fake_openai.requests[0]
    assert recorded.path == "/openai/v1/chat/completions"
    assert recorded.fields["model"] == "deepseek-r1-distill-llama-70b"
    assert recorded.fields["reasoning_format"] == "parsed"
    assert recorded.headers["Authorization"] == f"Bearer {GROQ_KEY}"
    assert engine.name == "groq:deepseek-r1-distill-llama-70b"


async def test_spanish_note_has_spanish_headings(build: Build, fake_openai: FakeOpenAI) -> None:
    fake_openai.chat_reply = "## subjetivo\nCefalea de tres días. [1]\n## plan\nIbuprofeno. [3]\n"
    *_, note = await summarize(build(fake_openai, {}), NoteRequest(Template.SOAP, "es"))
    assert isinstance(note, Note) and note.language == "es"
    assert [s.title for s in note.sections] == ["Subjetivo", "Objetivo", "Evaluación", "Plan"]
    assert note.sections[0].sentences[0].text == "Cefalea de tres días."
    assert note.sections[1].sentences == ()
    assert "in Spanish" in fake_openai.requests[0].fields["messages"][0]["content"]


@pytest.mark.parametrize(
    ("template", "keys"),
    [
        (Template.SOAP, ["subjective", "objective", "assessment", "plan"]),
        (Template.DAP, ["data", "assessment", "plan"]),
        (Template.BIRP, ["behavior", "intervention", "response", "plan"]),
        (Template.HISTORY_AND_PHYSICAL, ["chief_complaint", "history_of_present_illness"]),
    ],
)
async def test_templates_ask_for_their_sections(
    fake_openai: FakeOpenAI, template: Template, keys: list[str]
) -> None:
    fake_openai.chat_reply = "".join(f"## {k}\nSomething. [0]\n" for k in keys)
    *_, note = await summarize(compatible_engine(fake_openai, {}), NoteRequest(template))
    assert isinstance(note, Note) and note.template == template
    assert [s.key for s in note.sections][: len(keys)] == keys
    assert all(s.sentences for s in note.sections if s.key in keys)
    prompt = fake_openai.requests[0].fields["messages"][0]["content"]
    assert all(f"## {k}\n" in prompt for k in keys)


async def test_custom_template_from_settings(fake_openai: FakeOpenAI) -> None:
    custom = {"soap": [{"key": "summary", "title": "Summary", "instruction": "one paragraph"}]}
    fake_openai.chat_reply = "SUMMARY\nHeadache, raised blood pressure. [1, 2]\n"
    *_, note = await summarize(compatible_engine(fake_openai, {"custom_templates": custom}))
    assert isinstance(note, Note)
    assert [(s.key, [x.evidence for x in s.sentences]) for s in note.sections] == [
        ("summary", [(1, 2)])
    ]
    assert "one paragraph" in fake_openai.requests[0].fields["messages"][0]["content"]


async def test_429_with_retry_after_then_success(build: Build, fake_openai: FakeOpenAI) -> None:
    fake_openai.chat_reply = REPLY
    fake_openai.faults.append(
        Status(429, {"error": {"message": "Rate limit"}}, {"retry-after": "0.25"})
    )
    *_, note = await summarize(build(fake_openai, {}))
    assert isinstance(note, Note)
    first, second = fake_openai.requests
    assert second.at - first.at >= 0.25


async def test_500_then_success_and_500s_past_the_budget(
    build: Build, fake_openai: FakeOpenAI
) -> None:
    fake_openai.chat_reply = REPLY
    fake_openai.faults.append(Status(500))
    *_, note = await summarize(build(fake_openai, {}))
    assert isinstance(note, Note)
    fake_openai.faults.extend([Status(500), Status(500)])
    with pytest.raises(RetryableEngineError, match=r"temporary failure \(HTTP 500\)"):
        await summarize(build(fake_openai, {"provider_max_attempts": 2}))


async def test_timeout_is_retryable(build: Build, fake_openai: FakeOpenAI) -> None:
    fake_openai.faults.extend([Hang(), Hang()])
    with pytest.raises(RetryableEngineError, match="did not answer in time"):
        await summarize(build(fake_openai, {"provider_max_attempts": 2}))
    assert len(fake_openai.requests) == 2


async def test_malformed_stream_is_permanent(build: Build, fake_openai: FakeOpenAI) -> None:
    fake_openai.faults.append(Malformed(b'data: {"choices": [oops\n\n', "text/event-stream"))
    with pytest.raises(PermanentEngineError, match="could not read"):
        await summarize(build(fake_openai, {}))


async def test_answer_without_the_format_is_permanent(
    build: Build, fake_openai: FakeOpenAI
) -> None:
    fake_openai.chat_reply = "<think>x</think>I cannot help with that."
    with pytest.raises(PermanentEngineError, match="did not follow the note format"):
        await summarize(build(fake_openai, {}))


async def test_failure_after_deltas_is_left_to_the_worker(
    build: Build, fake_openai: FakeOpenAI
) -> None:
    fake_openai.chat_reply = REPLY
    fake_openai.faults.append(BreakStream(after=8))
    seen: list[NoteUpdate] = []
    engine = build(fake_openai, {})
    with pytest.raises(RetryableEngineError, match="overloaded"):
        async for update in engine.summarize(TRANSCRIPT, NoteRequest()):
            seen.append(update)
    await engine.aclose()
    assert seen  # deltas went out, so replaying them here would duplicate text
    assert len(fake_openai.requests) == 1


async def test_a_slow_drip_past_the_deadline_is_retryable(fake_openai: FakeOpenAI) -> None:
    # Every piece arrives in time for the read timeout, but the whole answer does not.
    fake_openai.chat_reply = REPLY * 20
    fake_openai.chat_piece = 1
    fake_openai.chat_delay = 0.002
    engine = compatible_engine(fake_openai, {"provider_call_deadline_seconds": 0.3})
    with pytest.raises(RetryableEngineError, match=r"still answering after 0\.3 s"):
        await summarize(engine)


async def test_headings_written_other_ways_are_understood(fake_openai: FakeOpenAI) -> None:
    fake_openai.chat_reply = (
        "**Subjective:** Headache for three days. [1]\n"
        "OBJECTIVE\n"
        "1. Blood pressure 150/95. [S2]\n"
        "Assessment: Tension headache. [1, 2]\n"
        "### Plan\n"
        "* Ibuprofen. [3]\n"
        "Note: the plan was agreed. [3]\n"
    )
    *_, note = await summarize(compatible_engine(fake_openai, {}))
    assert isinstance(note, Note)
    assert [[(x.text, x.evidence) for x in s.sentences] for s in note.sections] == [
        [("Headache for three days.", (1,))],
        [("Blood pressure 150/95.", (2,))],
        [("Tension headache.", (1, 2))],
        [("Ibuprofen.", (3,)), ("Note: the plan was agreed.", (3,))],
    ]
