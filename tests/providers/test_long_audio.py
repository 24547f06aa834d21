"""Long audio: split at silences, sent with bounded concurrency, stitched with true times.
Two-channel recordings: a role per channel."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from core.domain import Segment, Speaker
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.cloud.factory import build_transcriber
from workers.engines.transcribers.flac import encode_flac
from workers.engines.transcribers.groq import GroqTranscriber
from workers.engines.transcribers.openai import OpenAITranscriber
from workers.engines.transcribers.splitting import plan_cuts

from .fakes.openai_api import FakeOpenAI
from .fakes.server import Status
from .fakes.tones import RATE, Burst, hear, write_tones
from .support import context

pytestmark = pytest.mark.providers

# Seven bursts over 20 s; every gap is a pause the splitter may cut in.
BURSTS = [Burst(0.5 + 2.8 * i, 1.2, 300 + 100 * i) for i in range(7)]
TOTAL = 20.0


async def collect(
    engine: Transcriber, audio: AudioFile, options: TranscribeOptions | None = None
) -> list[TranscriptionUpdate]:
    try:
        return [u async for u in engine.transcribe(audio, options or TranscribeOptions())]
    finally:
        await engine.aclose()


def test_cuts_fall_in_pauses_and_cover_everything() -> None:
    rng = np.random.default_rng(1)
    pcm = rng.normal(0, 0.001, int(TOTAL * RATE)).astype(np.float32)
    for b in BURSTS:
        lo = int(b.start * RATE)
        pcm[lo : lo + int(b.seconds * RATE)] += 0.5
    cuts = plan_cuts(pcm, RATE, max_seconds=5.0)
    assert cuts[0][0] == 0 and cuts[-1][1] == len(pcm)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cuts))
    assert all(0 < hi - lo <= 5 * RATE for lo, hi in cuts)
    for _, cut in cuts[:-1]:
        t = cut / RATE
        assert not any(b.start <= t <= b.start + b.seconds for b in BURSTS), t


def test_short_audio_is_one_chunk_and_flac_round_trips() -> None:
    pcm = (0.5 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)
    assert plan_cuts(pcm, RATE, max_seconds=5.0) == [(0, RATE)]
    duration, heard = hear(encode_flac(pcm))
    assert duration == pytest.approx(1.0, abs=0.01)
    assert [h.freq for h in heard] == [440]


async def test_groq_chunks_are_stitched_with_true_times(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    audio = AudioFile(write_tones(tmp_path / "long.wav", BURSTS, TOTAL), TOTAL)
    fake_openai.hold_until_in_flight = 2
    engine = GroqTranscriber(
        context(
            groq_base_url=fake_openai.url,
            transcribe_max_chunk_seconds=5.0,
            transcribe_concurrency=2,
        )
    )
    updates = await collect(engine, audio)
    segments = [u for u in updates if isinstance(u, Segment)]
    assert [s.text for s in segments] == [f"tone{b.freq}." for b in BURSTS]
    assert [s.id for s in segments] == list(range(len(BURSTS)))
    for segment, burst in zip(segments, BURSTS, strict=True):
        assert segment.start == pytest.approx(burst.start, abs=0.05)
        assert segment.end == pytest.approx(burst.start + burst.seconds, abs=0.05)
    assert len(fake_openai.requests) >= 4
    assert all(r.fields["filename"].endswith(".flac") for r in fake_openai.requests)
    assert fake_openai.max_in_flight == 2  # overlapped, and never more than the setting
    progress = [u.processed_seconds for u in updates if isinstance(u, Progress)]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(TOTAL, abs=0.01)
    assert [u for u in updates if isinstance(u, DetectedLanguage)] == [DetectedLanguage("en")]


async def test_byte_limit_splits_too(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    audio = AudioFile(write_tones(tmp_path / "long.wav", BURSTS, TOTAL), TOTAL)
    limit = 200_000  # about 6 s of 16 kHz 16-bit audio; the WAV is 640 kB
    engine = GroqTranscriber(
        context(groq_base_url=fake_openai.url, transcribe_max_chunk_bytes=limit)
    )
    segments = [u for u in await collect(engine, audio) if isinstance(u, Segment)]
    assert [s.text for s in segments] == [f"tone{b.freq}." for b in BURSTS]
    assert len(fake_openai.requests) >= 4
    assert all(0 < r.fields["file_bytes"] <= limit for r in fake_openai.requests)


async def test_openai_deltas_stream_in_reading_order(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    audio = AudioFile(write_tones(tmp_path / "long.wav", BURSTS, TOTAL), TOTAL)
    fake_openai.hold_until_in_flight = 3
    engine = OpenAITranscriber(
        context(
            openai_base_url=fake_openai.url + "/v1",
            transcribe_max_chunk_seconds=5.0,
            transcribe_concurrency=3,
        )
    )
    updates = await collect(engine, audio)
    words = "".join(u.text_delta for u in updates if isinstance(u, Progress)).split()
    assert [w.strip("?.") for w in words] == [f"tone{b.freq}" for b in BURSTS]
    segments = [u for u in updates if isinstance(u, Segment)]
    assert [s.text.strip("?.") for s in segments] == [f"tone{b.freq}" for b in BURSTS]
    starts = [s.start for s in segments]
    assert starts == sorted(starts) and segments[-1].end <= TOTAL


async def test_a_failed_chunk_fails_the_recording(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from workers.engines.errors import PermanentEngineError

    audio = AudioFile(write_tones(tmp_path / "long.wav", BURSTS, TOTAL), TOTAL)
    fake_openai.faults.append(Status(400, {"error": {"message": "Audio file is corrupted"}}))
    engine = GroqTranscriber(
        context(
            groq_base_url=fake_openai.url,
            transcribe_max_chunk_seconds=5.0,
            transcribe_concurrency=1,
        )
    )
    with pytest.raises(PermanentEngineError, match="Audio file is corrupted"):
        await collect(engine, audio)


async def test_two_channels_get_a_role_each(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    bursts = [
        Burst(0.5, 1.0, 440, channel=0),
        Burst(2.0, 1.0, 660, channel=1),
        Burst(3.5, 0.8, 550, channel=0),
    ]
    audio = AudioFile(
        write_tones(tmp_path / "stereo.wav", bursts, 5.0, channels=2), 5.0, channels=2
    )
    engine = build_transcriber("groq", context(groq_base_url=fake_openai.url))
    updates = await collect(engine, audio)
    segments = [u for u in updates if isinstance(u, Segment)]
    assert [(s.id, s.text, s.speaker) for s in segments] == [
        (0, "tone440.", Speaker.CLINICIAN),
        (1, "tone660.", Speaker.PATIENT),
        (2, "tone550.", Speaker.CLINICIAN),
    ]
    assert segments[1].start == pytest.approx(2.0, abs=0.05)
    assert len(fake_openai.requests) == 2
    progress = [u for u in updates if isinstance(u, Progress)]
    assert progress[-1].processed_seconds == progress[-1].total_seconds == 10.0


async def test_channel_roles_come_from_settings(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    bursts = [Burst(0.5, 1.0, 440, channel=0), Burst(2.0, 1.0, 660, channel=1)]
    audio = AudioFile(
        write_tones(tmp_path / "stereo.wav", bursts, 3.5, channels=2), 3.5, channels=2
    )
    engine = build_transcriber(
        "groq", context(groq_base_url=fake_openai.url, channel_roles=("patient", "clinician"))
    )
    segments = [u for u in await collect(engine, audio) if isinstance(u, Segment)]
    assert [s.speaker for s in segments] == [Speaker.PATIENT, Speaker.CLINICIAN]


async def test_identical_channels_are_one_recording(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    path = write_tones(tmp_path / "mono.wav", [Burst(0.5, 1.0, 440)], 2.0)
    # The same signal on both channels, as a mono microphone into a stereo recorder gives.
    import wave

    with wave.open(str(path), "rb") as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    with wave.open(str(tmp_path / "dual.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.repeat(frames, 2).tobytes())
    audio = AudioFile(tmp_path / "dual.wav", 2.0, channels=2)
    engine = build_transcriber("groq", context(groq_base_url=fake_openai.url))
    segments = [u for u in await collect(engine, audio) if isinstance(u, Segment)]
    assert [(s.text, s.speaker) for s in segments] == [("tone440.", Speaker.UNKNOWN)]
    assert len(fake_openai.requests) == 1


async def test_diarized_chunks_keep_their_speakers(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # The second chunk holds only the patient: on its own a diarizer would call its one
    # voice "A" and nothing would say it is not the clinician.
    bursts = [
        Burst(0.3, 2.5, 330),  # the clinician (low voice)
        Burst(3.2, 2.5, 660),  # the patient
        Burst(7.5, 2.0, 700),
        Burst(10.0, 2.0, 750),
    ]
    audio = AudioFile(write_tones(tmp_path / "visit.wav", bursts, 12.5), 12.5)
    ctx = context(
        openai_base_url=fake_openai.url + "/v1",
        transcribe_max_chunk_seconds=7.0,
        transcribe_concurrency=3,
    )
    updates = await collect(OpenAITranscriber(ctx, diarize=True), audio)
    segments = [u for u in updates if isinstance(u, Segment)]
    assert [(s.text, s.speaker) for s in segments] == [
        ("tone330?", Speaker.CLINICIAN),
        ("tone660.", Speaker.PATIENT),
        ("tone700.", Speaker.PATIENT),
        ("tone750.", Speaker.PATIENT),
    ]
    first, second = fake_openai.requests
    assert first.fields["known_speaker_names"] == []
    assert second.fields["known_speaker_names"] == ["clinician", "patient"]
    assert fake_openai.max_in_flight == 1  # the first chunk went alone, the rest after it
