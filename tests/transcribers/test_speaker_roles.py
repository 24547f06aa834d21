"""Speaker roles for mono recordings: two espeak-ng voices told apart by their sound, one voice
left to the words, and segments that already carry a role left alone.

The dialogue (``tests/support/spoken.py``) is spoken for real; segments are built from its
known turns so that what is scored is the speaker step, not the speech recognizer. Two of
the turns are joined into one segment, as an ASR segment spanning a short pause would be.
"""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from core.domain import Segment, Speaker
from tests.support.spoken import RATE, Turn, speak, truth_at
from workers.engines.base import (
    AudioFile,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.roles import role_model
from workers.engines.notes.local.sentences import sentences_of
from workers.engines.transcribers.speaker_roles import RoleTranscriber, label
from workers.engines.transcribers.speakers import listen

#: Word-level share the two-voice labelling must reach. The voices alone put every turn on
#: the right side (asserted below); what may still go wrong is the split of the joined
#: segment, whose time is shared out by characters: a sentence there may be misplaced.
TWO_VOICE_BAR = 0.95


def segments_of(turns: list[Turn]) -> list[Segment]:
    """One segment per turn, except turns 1 and 2 (patient, then clinician) joined in one."""
    out: list[Segment] = []
    i = 0
    while i < len(turns):
        if i == 1:
            joined = f"{turns[1].text} {turns[2].text}"
            out.append(Segment(len(out), turns[1].start, turns[2].end, joined))
            i += 2
            continue
        out.append(Segment(len(out), turns[i].start, turns[i].end, turns[i].text))
        i += 1
    return out


def word_accuracy(labelled: list[Segment], turns: list[Turn]) -> float:
    right = words = 0
    for segment in labelled:
        count = len(segment.text.split())
        words += count
        middle = (segment.start + segment.end) / 2
        right += count if segment.speaker == truth_at(turns, middle) else 0
    return right / words


def test_two_voices_are_told_apart_and_named_by_their_words(tmp_path: Path) -> None:
    wav = tmp_path / "two.wav"
    turns = speak(wav)
    voices = listen(wav)
    segments = segments_of(turns)
    assert voices.distinct([(s.start, s.end) for s in segments])
    # The sound alone: every clinician turn leans one way, every patient turn the other.
    clinician = [voices.leaning(t.start, t.end) for t in turns if t.speaker == Speaker.CLINICIAN]
    patient = [voices.leaning(t.start, t.end) for t in turns if t.speaker == Speaker.PATIENT]
    sign = 1.0 if clinician[0] > 0 else -1.0
    assert all(sign * v > 0 for v in clinician)
    assert all(sign * v < 0 for v in patient)

    labelled = label(segments, voices, "en")
    assert {s.speaker for s in labelled} == {Speaker.CLINICIAN, Speaker.PATIENT}
    assert word_accuracy(labelled, turns) >= TWO_VOICE_BAR
    # The joined segment was split where the speaker changed, and its text kept whole.
    joined = segments[1]
    inside = [s for s in labelled if joined.start <= s.start and s.end <= joined.end]
    assert [s.speaker for s in inside] == [Speaker.PATIENT, Speaker.CLINICIAN]
    assert " ".join(s.text for s in inside) == joined.text
    assert [s.id for s in labelled] == list(range(len(labelled)))


def test_one_voice_falls_back_to_the_words(tmp_path: Path) -> None:
    wav = tmp_path / "one.wav"
    turns = speak(wav, same_voice=True)
    voices = listen(wav)
    segments = segments_of(turns)
    assert not voices.distinct([(s.start, s.end) for s in segments])
    labelled = label(segments, voices, "en")
    # Exactly what the words model says sentence by sentence (its Viterbi pass over them),
    # told which sentences share a segment (turns 1 and 2 share one).
    lexicon = lexicon_for("en")
    texts: list[str] = []
    joined: list[bool] = []
    for segment in segments:
        for n, (sentence, _) in enumerate(sentences_of(segment.text, lexicon)):
            texts.append(sentence)
            joined.append(n > 0)
    assert joined.count(True) >= 2
    expected = role_model().roles(texts, joined)
    assert [s.speaker for s in labelled for _ in sentences_of(s.text, lexicon)] == expected
    assert all(s.speaker in (Speaker.CLINICIAN, Speaker.PATIENT) for s in labelled)


def test_spanish_one_voice_uses_the_cue_words(tmp_path: Path) -> None:
    segments = [
        Segment(0, 0.0, 2.0, "¿Qué le trae por aquí hoy?"),
        Segment(1, 2.5, 5.0, "Tengo dolor de cabeza y me duele la garganta."),
    ]
    wav = tmp_path / "one.wav"
    speak(wav, same_voice=True)
    labelled = label(segments, listen(wav), "es")
    assert [s.speaker for s in labelled] == [Speaker.CLINICIAN, Speaker.PATIENT]


class _Scripted(Transcriber):
    """Our own seam: yields the given updates as an engine would."""

    name = "scripted"

    def __init__(self, updates: list[TranscriptionUpdate]) -> None:
        self.updates = updates

    async def transcribe(
        self, audio: AudioFile, options: TranscribeOptions
    ) -> AsyncIterator[TranscriptionUpdate]:
        for update in self.updates:
            yield update


async def _collect(engine: Transcriber, audio: AudioFile) -> list[TranscriptionUpdate]:
    return [u async for u in engine.transcribe(audio, TranscribeOptions(language="en"))]


async def test_segments_with_a_role_pass_through(tmp_path: Path) -> None:
    wav = tmp_path / "two.wav"
    speak(wav)
    given = [
        Segment(0, 0.0, 2.0, "What brings you in today?", Speaker.PATIENT),
        Segment(1, 2.5, 4.0, "My throat hurts.", Speaker.CLINICIAN),
    ]
    got = await _collect(RoleTranscriber(_Scripted(list(given))), AudioFile(wav, 40.0, 2))
    # Channel roles are kept even where the words would say otherwise.
    assert [u for u in got if isinstance(u, Segment)] == given


async def test_unlabelled_segments_come_back_with_roles_and_text_goes_out_first(
    tmp_path: Path,
) -> None:
    wav = tmp_path / "two.wav"
    turns = speak(wav)
    segments = [Segment(i, t.start, t.end, t.text) for i, t in enumerate(turns)]
    updates: list[TranscriptionUpdate] = []
    for segment in segments:
        updates += [segment, Progress(segment.end, turns[-1].end + 0.4)]
    engine = RoleTranscriber(_Scripted(updates))
    got = await _collect(engine, AudioFile(wav, turns[-1].end + 0.4, 1))
    first_segment = next(i for i, u in enumerate(got) if isinstance(u, Segment))
    interim = "".join(u.text_delta for u in got[:first_segment] if isinstance(u, Progress))
    assert interim.split() == " ".join(t.text for t in turns).split()
    labelled = [u for u in got if isinstance(u, Segment)]
    assert [s.speaker for s in labelled] == [t.speaker for t in turns]


@pytest.mark.parametrize("same_voice", [False, True])
def test_every_segment_gets_clinician_or_patient(tmp_path: Path, same_voice: bool) -> None:
    wav = tmp_path / "d.wav"
    turns = speak(wav, same_voice=same_voice)
    labelled = label(segments_of(turns), listen(wav), "en")
    assert labelled and all(s.speaker in (Speaker.CLINICIAN, Speaker.PATIENT) for s in labelled)


def test_two_turns_run_together_without_a_full_stop_are_cut_where_the_voice_changes(
    tmp_path: Path,
) -> None:
    wav = tmp_path / "two.wav"
    turns = speak(wav)
    # Turns 2 and 3 ("Any fever or chills?" / "Yes, a low fever last night.") as a recognizer
    # may give them: one segment, no punctuation, words half misheard.
    run_on = "and if he were four kills yes a low fever last night"
    segments = [Segment(i, t.start, t.end, t.text) for i, t in enumerate(turns[:2])]
    segments.append(Segment(2, turns[2].start, turns[3].end, run_on))
    segments += [Segment(i, t.start, t.end, t.text) for i, t in enumerate(turns[4:], 3)]
    labelled = label(segments, listen(wav), "en")
    inside = [s for s in labelled if turns[2].start <= s.start and s.end <= turns[3].end]
    assert [s.speaker for s in inside] == [Speaker.CLINICIAN, Speaker.PATIENT]
    assert " ".join(s.text for s in inside) == run_on
    assert inside[1].text.endswith("a low fever last night")
    assert "and if he" in inside[0].text


def test_no_speech_gives_no_voices_and_the_words_decide(tmp_path: Path) -> None:
    wav = tmp_path / "tone.wav"
    t = np.arange(6 * RATE) / RATE
    tone = np.concatenate([np.zeros(2 * RATE), 0.3 * np.sin(2 * np.pi * 440 * t)])
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((tone * 32767).astype("<i2").tobytes())
    voices = listen(wav)
    assert not voices.two
    segments = [
        Segment(0, 0.0, 3.0, "How long has it hurt?"),
        Segment(1, 3.0, 8.0, "My knee hurts."),
    ]
    labelled = label(segments, voices, "en")
    assert [s.speaker for s in labelled] == role_model().roles([s.text for s in segments])
