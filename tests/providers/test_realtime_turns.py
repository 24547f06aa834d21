"""The socket-free parts of the live OpenAI session: upsampling, kept audio, turn order."""

from __future__ import annotations

import numpy as np
import pytest

from workers.engines.live import LIVE_SAMPLE_RATE
from workers.engines.transcribers.realtime_turns import (
    PCM_RATE,
    RetainedAudio,
    TurnTracker,
    Upsampler,
)

from .fakes.tones import Burst, tone_samples


def test_upsampling_keeps_length_and_pitch_across_blocks() -> None:
    pcm = tone_samples([Burst(0.0, 2.0, 440)], 2.0)[0]
    up = Upsampler()
    step = 1001  # odd blocks: 1.5 output samples each, so state must carry over
    out = b"".join(up.push(pcm[lo : lo + step]) for lo in range(0, len(pcm), step)) + up.flush()
    samples = np.frombuffer(out, "<i2").astype(np.float64)
    assert len(samples) == pytest.approx(len(pcm) * PCM_RATE / LIVE_SAMPLE_RATE, abs=48)
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / PCM_RATE)[int(np.argmax(spectrum))] == (
        pytest.approx(440, abs=2)
    )


def test_retained_audio_gives_back_what_follows_a_point_and_forgets_the_rest() -> None:
    kept = RetainedAudio()
    for value in range(3):
        kept.add(np.full(100, value, "<i2").tobytes())
    assert b"".join(kept.since(150)) == np.array([1] * 50 + [2] * 100, "<i2").tobytes()
    kept.trim(150)  # the first chunk (0-100) ends before 150, the second does not
    assert kept.start == 100 and kept.end == 300
    kept.trim(300)
    assert kept.since(300) == [] and kept.seconds() == 0.0


def tracker() -> TurnTracker:
    return TurnTracker(start_at=10.0, prefix_ms=300, silence_ms=500)


def test_times_lose_the_vad_padding_and_gain_the_start_offset() -> None:
    t = tracker()
    t.sent = 5 * PCM_RATE
    t.speech_started("a", 200)  # speech at 0.5 s, with 300 ms of padding before it
    t.speech_stopped("a", 1500)  # speech ended at 1.0 s, then 500 ms of silence
    (final,) = t.completed("a", " Hello  there. ")
    assert (final.text, final.start, final.end, final.final) == ("Hello there.", 10.5, 11.0, True)
    assert t.resume == int(1.5 * PCM_RATE) and not t.pending


def test_finals_wait_for_earlier_turns_and_interims_are_for_the_oldest() -> None:
    t = tracker()
    t.sent = 5 * PCM_RATE
    t.speech_started("a", 0)
    t.speech_stopped("a", 1000)
    t.speech_started("b", 1200)
    t.speech_stopped("b", 2500)
    assert t.delta("b", "second") == []  # not the oldest turn: nothing to show yet
    assert t.completed("b", "second.") == []
    (interim,) = t.delta("a", "first")
    assert (interim.text, interim.final) == ("first", False)
    first, second = t.completed("a", "first.")
    assert [(r.text, r.final) for r in (first, second)] == [("first.", True), ("second.", True)]
    assert t.finals == 2 and t.resume == int(2.5 * PCM_RATE)


def test_our_commit_closes_an_open_turn_at_the_end_of_the_audio() -> None:
    t = tracker()
    t.sent = 3 * PCM_RATE
    t.speech_started("a", 2200)
    assert t.committed("z") is True  # an item no speech announced: the answer to our commit
    (final,) = t.completed("z", "cut short")
    assert (final.start, final.end) == (12.5, 13.0)


def test_a_new_connection_forgets_unsettled_turns() -> None:
    t = tracker()
    t.sent = 3 * PCM_RATE
    t.speech_started("a", 200)
    t.new_connection(0)
    assert not t.pending and t.completed("a", "late") == []


def test_with_nothing_heard_the_resume_point_follows_the_audio() -> None:
    t = tracker()
    t.sent = 60 * PCM_RATE
    t.idle_resume(10 * PCM_RATE)
    assert t.resume == 50 * PCM_RATE
    t.speech_started("a", 55_000)
    t.sent = 90 * PCM_RATE
    t.idle_resume(10 * PCM_RATE)  # a turn is pending: its audio must stay
    assert t.resume == 50 * PCM_RATE
