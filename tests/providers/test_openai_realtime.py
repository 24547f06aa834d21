"""The ``openai`` live engine against a loopback Realtime transcription server.

The real SDK (``client.realtime.connect``) talks to ``fakes/openai_realtime.py``, which runs a
VAD over the audio it receives and hears each tone burst as a word, so times and text in the
results come from the audio actually sent.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import numpy as np
import pytest

from tests.support import eventually
from workers.engines.base import TranscribeOptions
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.live import LIVE_SAMPLE_RATE, LiveResult
from workers.engines.transcribers.openai_realtime import openai_live_transcriber

from .fakes.openai_realtime import FakeRealtime, Plan
from .fakes.server import Status
from .fakes.tones import Burst, tone_samples
from .support import OPENAI_KEY, context

pytestmark = pytest.mark.providers

# Three utterances, a second and a half apart, in five seconds of room noise.
BURSTS = [Burst(0.5, 0.5, 440), Burst(2.0, 0.5, 660), Burst(3.5, 0.5, 880)]
WORDS = ["tone440.", "tone660.", "tone880."]


async def run(
    fake: FakeRealtime,
    *,
    bursts: list[Burst] = BURSTS,
    total: float = 5.0,
    options: TranscribeOptions | None = None,
    start_at: float = 0.0,
    block: float = 0.25,
    **settings: Any,
) -> list[LiveResult]:
    """Push the audio in blocks while reading results; every result, in order."""
    values: dict[str, Any] = {
        "openai_base_url": fake.url + "/v1",
        # Loopback is quick, but this machine is shared: no spurious timeouts.
        "provider_connect_timeout_seconds": 10.0,
        "provider_timeout_seconds": 10.0,
    }
    values.update(settings)
    engine = openai_live_transcriber(context=context(**values))
    session = engine.open_session(options or TranscribeOptions(), start_at=start_at)
    pcm = tone_samples(bursts, total)[0]
    step = int(block * LIVE_SAMPLE_RATE)

    async def feed() -> None:
        for lo in range(0, len(pcm), step):
            await session.push(pcm[lo : lo + step])
        await session.finish()

    feeder = asyncio.create_task(feed())
    try:
        results = [r async for r in session.results()]
        await feeder
        return results
    finally:
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        await session.aclose()
        await engine.aclose()


def finals(results: list[LiveResult]) -> list[LiveResult]:
    return [r for r in results if r.final]


def assert_times(results: list[LiveResult], bursts: list[Burst], offset: float = 0.0) -> None:
    for result, burst in zip(results, bursts, strict=True):
        assert result.start == pytest.approx(offset + burst.start, abs=0.05)
        assert result.end == pytest.approx(offset + burst.start + burst.seconds, abs=0.05)


async def test_finals_in_order_with_the_times_of_the_speech(fake_realtime: FakeRealtime) -> None:
    results = await run(fake_realtime)
    settled = finals(results)
    # The fake hears a tone at the pitch it was sent: 440 Hz comes out as "tone440" only when
    # the audio really is 24 kHz PCM16.
    assert [r.text for r in settled] == WORDS
    assert_times(settled, BURSTS)
    assert all(r.stability == 1.0 for r in settled)


async def test_interims_come_before_their_final_and_grow(fake_realtime: FakeRealtime) -> None:
    results = await run(fake_realtime)
    # Cut the results after each final: each piece is one turn's interims, then its final.
    turns: list[list[LiveResult]] = [[]]
    for r in results:
        turns[-1].append(r)
        if r.final:
            turns.append([])
    assert turns.pop() == []
    for word, turn in zip(WORDS, turns, strict=True):
        assert [(r.text, r.final) for r in turn] == [("tone", False), (word, False), (word, True)]
        assert all(0.0 < r.stability < 1.0 for r in turn[:-1])
        assert len({(r.start, r.end) for r in turn}) == 1  # the turn's times, from the start


async def test_session_update_carries_model_language_vocabulary_and_vad(
    fake_realtime: FakeRealtime,
) -> None:
    options = TranscribeOptions(language="es-MX", vocabulary=("metformina", "enalapril"))
    await run(fake_realtime, options=options)
    (conn,) = fake_realtime.connections
    assert conn.query == {"intent": "transcription"}
    assert conn.headers["Authorization"] == f"Bearer {OPENAI_KEY}"
    (session,) = conn.sessions
    audio_in = session["audio"]["input"]
    assert session["type"] == "transcription"
    assert audio_in["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio_in["turn_detection"]["type"] == "server_vad"
    transcription = audio_in["transcription"]
    assert transcription["model"] == "gpt-4o-transcribe"
    assert transcription["language"] == "es"
    assert "metformina" in transcription["prompt"] and "enalapril" in transcription["prompt"]


async def test_no_language_and_no_vocabulary_send_neither(fake_realtime: FakeRealtime) -> None:
    await run(fake_realtime, bursts=BURSTS[:1], total=2.0)
    transcription = fake_realtime.connections[0].sessions[0]["audio"]["input"]["transcription"]
    assert transcription == {"model": "gpt-4o-transcribe"}


async def test_the_session_ends_after_finish_and_closes_its_socket(
    fake_realtime: FakeRealtime,
) -> None:
    results = await run(fake_realtime, bursts=BURSTS[:1], total=2.0)
    assert [r.text for r in finals(results)] == ["tone440."]
    (conn,) = fake_realtime.connections
    assert conn.commits == 1
    # All the audio was sent (2 s) and then silence for the VAD to close a last turn.
    assert conn.seconds() == pytest.approx(2.0 + 0.8, abs=0.05)
    await eventually(lambda: conn.closed_by_client, within=5.0, what="the client closed")


async def test_speech_still_going_at_finish_is_transcribed(fake_realtime: FakeRealtime) -> None:
    # The last burst runs to the very end of the audio: the appended silence closes it.
    bursts = [Burst(0.5, 0.5, 440), Burst(2.0, 1.0, 660)]
    results = await run(fake_realtime, bursts=bursts, total=3.0)
    settled = finals(results)
    assert [r.text for r in settled] == ["tone440.", "tone660."]
    assert_times(settled, bursts)


async def test_silence_gives_no_words_even_when_the_tail_is_misheard(
    fake_realtime: FakeRealtime,
) -> None:
    fake_realtime.plans.append(Plan(tail_text="Thank you for watching."))
    results = await run(fake_realtime, bursts=[], total=3.0)
    assert results == []
    assert fake_realtime.connections[0].commits == 1


async def test_start_at_shifts_times_to_the_recording(fake_realtime: FakeRealtime) -> None:
    settled = finals(await run(fake_realtime, start_at=60.0))
    assert [r.text for r in settled] == WORDS
    assert_times(settled, BURSTS, offset=60.0)


async def test_turns_completed_out_of_order_come_out_in_order(
    fake_realtime: FakeRealtime,
) -> None:
    fake_realtime.plans.append(Plan(hold_first=True))
    settled = finals(await run(fake_realtime))
    assert [r.text for r in settled] == WORDS
    assert_times(settled, BURSTS)


async def test_a_dropped_connection_resumes_after_the_last_final(
    fake_realtime: FakeRealtime,
) -> None:
    fake_realtime.plans.append(Plan(drop_after_finals=1))
    settled = finals(await run(fake_realtime))
    assert [r.text for r in settled] == WORDS  # none lost, none twice
    assert_times(settled, BURSTS)
    first, second = fake_realtime.connections
    assert first.dropped and second.closed_by_client
    # The new connection got the audio from the end of the first turn (1.0 s plus the
    # VAD's 0.5 s of silence) on, not the whole recording again.
    assert second.seconds() == pytest.approx(5.0 - 1.5 + 0.8, abs=0.05)
    assert second.sessions == first.sessions


async def test_a_drop_mid_turn_replaces_its_interims_and_keeps_one_final(
    fake_realtime: FakeRealtime,
) -> None:
    fake_realtime.plans.append(Plan(drop_after_finals=1, drop_mid_turn=True))
    results = await run(fake_realtime)
    assert [r.text for r in finals(results)] == WORDS
    assert_times(finals(results), BURSTS)
    # The second turn's interims were shown once per connection that heard it.
    assert [r.text for r in results if not r.final and r.text.startswith("tone6")] == [
        "tone660.",
        "tone660.",
    ]


async def test_a_retryable_error_event_resumes(fake_realtime: FakeRealtime) -> None:
    overloaded = {"type": "server_error", "code": "server_error", "message": "Overloaded."}
    fake_realtime.plans.append(Plan(error_after_finals=2, error=overloaded))
    settled = finals(await run(fake_realtime))
    assert [r.text for r in settled] == WORDS
    assert len(fake_realtime.connections) == 2
    # The second connection started after the second turn.
    assert fake_realtime.connections[1].seconds() == pytest.approx(5.0 - 3.0 + 0.8, abs=0.05)


async def test_drops_without_progress_stop_after_the_attempts(
    fake_realtime: FakeRealtime, caplog: pytest.LogCaptureFixture
) -> None:
    overloaded = {"type": "server_error", "code": None, "message": "Overloaded."}
    fake_realtime.plans.extend([Plan(error_after_finals=0, error=overloaded)] * 5)
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(RetryableEngineError, match=r"3 times in a row.*server_error: Overloaded"),
    ):
        await run(fake_realtime, provider_max_attempts=3)
    assert len(fake_realtime.connections) == 3
    assert "tone" not in caplog.text  # no transcript text in logs


async def test_an_invalid_request_error_fails_for_good_without_the_key(
    fake_realtime: FakeRealtime,
) -> None:
    refused = {
        "type": "invalid_request_error",
        "code": "invalid_api_key",
        "message": f"Incorrect API key provided: {OPENAI_KEY}.",
    }
    fake_realtime.plans.append(Plan(error_after_finals=0, error=refused))
    refusal = "invalid_request_error, invalid_api_key"
    with pytest.raises(PermanentEngineError, match=refusal) as info:
        await run(fake_realtime)
    assert OPENAI_KEY not in info.value.message and "sk-test" not in info.value.message
    assert len(fake_realtime.connections) == 1


async def test_a_429_at_connect_waits_as_retry_after_says(fake_realtime: FakeRealtime) -> None:
    fake_realtime.faults.append(
        Status(429, {"error": {"message": "Slow down"}}, {"retry-after": "0.3"})
    )
    assert [r.text for r in finals(await run(fake_realtime))] == WORDS
    first, second = fake_realtime.requests
    assert second.at - first.at >= 0.3
    assert len(fake_realtime.connections) == 1


async def test_500s_at_connect_are_retried_within_the_attempts(
    fake_realtime: FakeRealtime,
) -> None:
    fake_realtime.faults.extend([Status(500), Status(503)])
    assert [r.text for r in finals(await run(fake_realtime))] == WORDS
    assert len(fake_realtime.requests) == 3

    fake_realtime.reset()
    fake_realtime.faults.extend([Status(502)] * 3)
    with pytest.raises(RetryableEngineError, match=r"temporary failure \(HTTP 502\)"):
        await run(fake_realtime)
    assert len(fake_realtime.requests) == 3  # provider_max_attempts of the test settings


async def test_a_401_at_connect_is_not_retried(fake_realtime: FakeRealtime) -> None:
    fake_realtime.faults.append(Status(401, {"error": {"message": "Bad key"}}))
    with pytest.raises(PermanentEngineError, match="refused our credentials"):
        await run(fake_realtime)
    assert len(fake_realtime.requests) == 1


async def test_nothing_listening_is_a_retryable_error(fake_realtime: FakeRealtime) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, now closed again
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RetryableEngineError, match="Could not reach OpenAI"):
        await run(fake_realtime, openai_base_url=f"http://127.0.0.1:{port}/v1")


async def test_push_after_a_failure_raises_the_failure(fake_realtime: FakeRealtime) -> None:
    fake_realtime.faults.append(Status(403))
    engine = openai_live_transcriber(context=context(openai_base_url=fake_realtime.url + "/v1"))
    session = engine.open_session(TranscribeOptions())
    with pytest.raises(PermanentEngineError):
        async for _ in session.results():
            pass
    with pytest.raises(PermanentEngineError):
        await session.push(np.zeros(1600, np.float32))
    await session.aclose()


async def test_a_server_silent_after_the_audio_counts_as_a_drop(
    fake_realtime: FakeRealtime,
) -> None:
    fake_realtime.plans.extend([Plan(mute=True)] * 3)
    with pytest.raises(RetryableEngineError, match=r"no answer for 0.5 s after the audio ended"):
        await run(fake_realtime, provider_timeout_seconds=0.5)
    assert len(fake_realtime.connections) == 3


async def test_aclose_mid_session_closes_the_socket_and_fails_a_waiting_reader(
    fake_realtime: FakeRealtime,
) -> None:
    engine = openai_live_transcriber(context=context(openai_base_url=fake_realtime.url + "/v1"))
    session = engine.open_session(TranscribeOptions())
    results: list[LiveResult] = []

    async def read() -> None:
        async for r in session.results():
            results.append(r)

    reader = asyncio.create_task(read())
    await session.push(tone_samples(BURSTS[:1], 2.0)[0])
    await eventually(lambda: any(r.final for r in results), within=10.0, what="a first final")
    await session.aclose()
    with pytest.raises(RetryableEngineError, match="closed before it finished"):
        await reader
    (conn,) = fake_realtime.connections
    await eventually(lambda: conn.closed_by_client, within=5.0, what="the socket closed")
    assert conn.commits == 0  # never finished: no tail was committed
    await engine.aclose()


async def test_a_drop_while_audio_still_comes_resumes_and_takes_the_rest(
    fake_realtime: FakeRealtime,
) -> None:
    # The first connection drops right after the first final, before the rest of the audio
    # was pushed: the new one gets the kept audio, then what is pushed after.
    fake_realtime.plans.append(Plan(drop_after_finals=1))
    engine = openai_live_transcriber(
        context=context(
            openai_base_url=fake_realtime.url + "/v1",
            provider_connect_timeout_seconds=10.0,
            provider_timeout_seconds=10.0,
        )
    )
    session = engine.open_session(TranscribeOptions())
    results: list[LiveResult] = []

    async def read() -> None:
        async for r in session.results():
            results.append(r)

    reader = asyncio.create_task(read())
    pcm = tone_samples(BURSTS, 5.0)[0]
    cut = int(1.8 * LIVE_SAMPLE_RATE)  # the first turn and its 0.5 s of silence
    await session.push(pcm[:cut])
    conns = fake_realtime.connections
    await eventually(lambda: conns and conns[0].dropped, what="the first drop")
    await session.push(pcm[cut:])
    await session.finish()
    await reader
    assert [r.text for r in finals(results)] == WORDS
    assert_times(finals(results), BURSTS)
    first, second = fake_realtime.connections
    assert first.seconds() == pytest.approx(1.8, abs=0.05)
    assert second.seconds() == pytest.approx(5.0 - 1.5 + 0.8, abs=0.05)
    await session.aclose()
    await engine.aclose()
