"""Turns and sentences rebuilt from ASR segments, and a speaker for every sentence.

Speech recognizers cut segments at pauses, not at sentence ends ("I've had this pain in
my" | "left knee for two weeks."), and a mono recording's segment can hold both speakers
("Any fever? No, none."). Before the note engine reads a transcript:

1. A segment that stops mid-sentence is joined to the next one of the same speaker, when
   the transcript is punctuated at all (unpunctuated ASR, ACI-Bench style, is cut by words
   instead). The sentence keeps the ids of every segment it spans, so evidence still points
   at the original segments.
2. Sentences whose speaker the transcriber did not give get one from their words
   (``roles.py``, English), or from the older per-segment cue guess for other languages.
   Roles the transcriber gave (two channels, a diarizing engine, the local engine's voices
   and words: ``transcribers/speaker_roles.py``) are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.domain import Segment, Speaker, Transcript

from .lexicon import Lexicon
from .roles import role_model
from .sentences import sentences_of

_ENDS_SENTENCE = re.compile(r"[.?!…]['\")\]]*\s*$")
_PUNCTUATION = re.compile(r"[.?!…,;:]")
# When fewer segments than this hold any punctuation, the ASR does not punctuate: nothing is
# joined. Whisper punctuates, yet ends most of its segments mid-sentence in some recordings
# (a window read out without a full stop), so the share counts marks anywhere in a segment.
_PUNCTUATED_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Piece:
    """One sentence as said, with its speaker and the segments it spans."""

    text: str
    question: bool
    segments: tuple[int, ...]
    speaker: Speaker


def _joined(transcript: Transcript) -> list[tuple[str, tuple[int, ...], Speaker]]:
    """Segments joined while a sentence runs on: (text, segment ids, speaker)."""
    segments = transcript.segments
    marked = sum(1 for s in segments if _PUNCTUATION.search(s.text))
    punctuated = bool(segments) and marked / len(segments) >= _PUNCTUATED_SHARE
    runs: list[tuple[str, tuple[int, ...], Speaker]] = []
    previous: Segment | None = None
    for segment in segments:
        text = segment.text.strip()
        if not text:
            continue
        open_end = previous is not None and not _ENDS_SENTENCE.search(previous.text)
        if punctuated and runs and open_end and previous and previous.speaker == segment.speaker:
            body, ids, speaker = runs[-1]
            runs[-1] = (f"{body} {text}", (*ids, segment.id), speaker)
        else:
            runs.append((text, (segment.id,), segment.speaker))
        previous = segment
    return runs


def _spans(run_text: str, ids: tuple[int, ...], transcript: Transcript) -> list[int]:
    """Where each joined segment starts in the run's text."""
    texts = {s.id: s.text.strip() for s in transcript.segments}
    starts: list[int] = []
    position = 0
    for segment_id in ids:
        starts.append(position)
        position += len(texts[segment_id]) + 1
    return starts


def _segments_of(sentence: str, cursor: int, run_text: str, ids: tuple[int, ...],
                 starts: list[int]) -> tuple[tuple[int, ...], int]:  # fmt: skip
    """The segments a sentence of a run overlaps, and where the next sentence is looked for."""
    found = run_text.find(sentence, cursor)
    if found < 0:
        # The sentence was rewritten while cut (unpunctuated speech): point at the segment
        # the cursor is in, which is where it was said.
        found, end = cursor, cursor + 1
    else:
        end = found + len(sentence)
    covered = tuple(
        segment_id
        for segment_id, start, stop in zip(
            ids, starts, [*starts[1:], len(run_text) + 1], strict=True
        )
        if start < end and found < stop
    )
    return covered or (ids[-1],), end


def pieces_of(transcript: Transcript, lexicon: Lexicon) -> list[Piece]:
    """Every sentence of the transcript with its segments and speaker."""
    pieces: list[Piece] = []
    for run_text, ids, speaker in _joined(transcript):
        starts = _spans(run_text, ids, transcript)
        cursor = 0
        for sentence, question in sentences_of(run_text, lexicon):
            covered, cursor = _segments_of(sentence.strip(), cursor, run_text, ids, starts)
            pieces.append(Piece(sentence, question, covered, speaker))
    return _with_roles(pieces, transcript, lexicon)


def _with_roles(pieces: list[Piece], transcript: Transcript, lexicon: Lexicon) -> list[Piece]:
    """Pieces without a speaker given one: from the role model in English, else the guess."""
    unknown = [i for i, p in enumerate(pieces) if p.speaker == Speaker.UNKNOWN]
    if not unknown:
        return pieces
    if lexicon.language == "en":
        # A sentence that starts in the segment the one before it ended in was heard in the
        # same stretch of speech (or written on the same line): it likely continues the turn.
        joined = [
            n > 0 and unknown[n - 1] == i - 1 and pieces[i].segments[0] in pieces[i - 1].segments
            for n, i in enumerate(unknown)
        ]
        guessed = role_model().roles([pieces[i].text for i in unknown], joined)
        by_index = dict(zip(unknown, guessed, strict=True))
    else:
        by_segment = dict(
            zip((s.id for s in transcript.segments), guess_speakers(transcript), strict=True)
        )
        by_index = {i: by_segment[pieces[i].segments[0]] for i in unknown}
    return [
        Piece(p.text, p.question, p.segments, by_index[i]) if i in by_index else p
        for i, p in enumerate(pieces)
    ]


# First-person words of someone telling their own history (English and Spanish).
_PATIENT_CUES = (
    " my ", " i've ", " i have ", " i had ", " i'm ", " i feel ", " i get ", " hurts ", " mi ",
    " tengo ", " me duele ", " estoy ", " siento ",
)  # fmt: skip
_CLINICIAN_CUES = (" let's ", " we'll ", " i'm going to ", " prescribe", " exam", " vamos a ")


def guess_speakers(transcript: Transcript) -> list[Speaker]:
    """Speakers of each segment; unlabelled segments get a guess from cue words.

    A clinician asks questions and talks about "you"; a patient talks about "my" and "I've
    been". When nothing tells, turns alternate and whoever opened is taken as the clinician.
    Used where the role model has no training data (languages other than English).
    """
    speakers = [s.speaker for s in transcript.segments]
    scores: list[int] = []
    for segment in transcript.segments:
        text = f" {segment.text.lower()} "
        score = text.count("?") * 2 + text.count(" you ") + text.count(" your ")
        score += 2 * sum(text.count(cue) for cue in _CLINICIAN_CUES)
        score -= 2 * sum(text.count(cue) for cue in _PATIENT_CUES)
        scores.append(score)
    clinician_parity = 0 if sum(scores[0::2]) >= sum(scores[1::2]) else 1
    guessed: list[Speaker] = []
    for i, (speaker, score) in enumerate(zip(speakers, scores, strict=True)):
        if speaker != Speaker.UNKNOWN:
            guessed.append(speaker)
        elif score >= 3:
            guessed.append(Speaker.CLINICIAN)
        elif score <= -2:
            guessed.append(Speaker.PATIENT)
        else:
            guessed.append(Speaker.CLINICIAN if i % 2 == clinician_parity else Speaker.PATIENT)
    return guessed
