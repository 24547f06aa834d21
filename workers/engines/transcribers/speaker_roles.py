"""A clinician or patient role on every segment of a mono recording: the voices and the words.

:class:`RoleTranscriber` wraps an engine whose segments come without a speaker (the local
engine on a mono recording). Roles need the whole recording (which voice asks the
questions), so its segments are held back until transcription ends; their text goes out
at once as interim text (``Progress.text_delta``) so watchers still read along. Segments
that arrive with a speaker (two-channel recordings, diarizing engines) pass straight through.

:func:`label` decides, sentence by sentence (a segment can hold two speakers):

1. Each sentence gets a leaning from the words: the trained role model's log-odds in English
   (``notes/local/roles.py``), the cue-word guess in other languages.
2. When the sound holds two voices (``speakers.py``), each sentence belongs to the voice its
   frames favour; the voice whose sentences lean clinician the most is the clinician. A
   sentence whose words lean the other way strongly (``STRONG_WORDS``) keeps the words' role.
3. With one voice (or a sentence with no speech frames), the words decide alone, through the
   role model's Viterbi pass that prefers fewer speaker changes, the more so between two
   sentences of one ASR segment (a recognizer's segment seldom spans a change of turn).

A segment whose sentences got different roles is split where the role changes, with its time
shared out by characters; a segment keeps its exact text when it is not split. With two
voices, a sentence the voice plainly changes in (two turns run together with no full stop)
is cut at the word nearest the change first.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from core.domain import Segment, Speaker, Transcript
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.roles import role_model
from workers.engines.notes.local.sentences import sentences_of
from workers.engines.notes.local.turns import guess_speakers
from workers.engines.transcribers.speakers import Voices, listen

#: Words log-odds (natural log) beyond which a sentence keeps the words' role against its
#: voice. The voices are right far more often than the words (espeak-ng two voices: every
#: turn), so only a sentence the words are nearly sure of may overrule them.
STRONG_WORDS = 6.0
#: Cap on one sentence's words log-odds when voting for its voice's role, so one long
#: sentence cannot outvote the rest.
_VOTE_CAP = 3.0
# Leaning given by the cue-word guess (languages the role model was not trained on).
_CUE_LEANING = 1.0


@dataclass(frozen=True, slots=True)
class _Sentence:
    segment: int  # index into the segments given
    begin: int  # character offsets in the segment's text
    end: int
    start: float  # seconds, shared out by characters
    stop: float


def _sentences(segments: Sequence[Segment], language: str) -> list[_Sentence]:
    """Each segment's sentences, located in its text; a segment whose sentences cannot be
    found in its text (rewritten while cut) stays one sentence."""
    lexicon = lexicon_for(language)
    found: list[_Sentence] = []
    for index, segment in enumerate(segments):
        text = segment.text
        spans: list[tuple[int, int]] = []
        cursor = 0
        for sentence, _ in sentences_of(text, lexicon):
            at = text.find(sentence.strip(), cursor)
            if at < 0:
                spans = []
                break
            spans.append((at, at + len(sentence.strip())))
            cursor = at + len(sentence.strip())
        if not spans:
            spans = [(0, len(text))]
        # Each sentence runs to where the next begins, so the pieces cover the whole text.
        bounds = [0, *(a for a, _ in spans[1:]), len(text)]
        length = max(len(text), 1)
        duration = segment.end - segment.start
        for a, b in itertools.pairwise(bounds):
            found.append(
                _Sentence(
                    index,
                    a,
                    b,
                    segment.start + duration * a / length,
                    segment.start + duration * b / length,
                )
            )
    return found


def _split_at_changes(
    sentences: list[_Sentence], segments: Sequence[Segment], voices: Voices
) -> list[_Sentence]:
    """Sentences cut in two where the voice plainly changes inside them (two turns the
    recognizer ran together with no full stop between), at the word boundary nearest the
    change's share of the sentence's time."""
    out: list[_Sentence] = []
    for sentence in sentences:
        at = voices.change(sentence.start, sentence.stop)
        text = segments[sentence.segment].text
        if at is None:
            out.append(sentence)
            continue
        share = (at - sentence.start) / max(sentence.stop - sentence.start, 1e-9)
        aim = sentence.begin + share * (sentence.end - sentence.begin)
        spaces = [i for i in range(sentence.begin + 1, sentence.end) if text[i] == " "]
        if not spaces:
            out.append(sentence)
            continue
        cut = min(spaces, key=lambda i: abs(i - aim))
        middle = sentence.start + (sentence.stop - sentence.start) * (cut - sentence.begin) / max(
            sentence.end - sentence.begin, 1
        )
        out.append(_Sentence(sentence.segment, sentence.begin, cut, sentence.start, middle))
        out.append(_Sentence(sentence.segment, cut, sentence.end, middle, sentence.stop))
    return out


def _word_leanings(texts: list[str], language: str) -> list[float]:
    """Clinician-over-patient log-odds of each sentence from its words alone."""
    if lexicon_for(language).language == "en":
        model = role_model()
        return [model.log_odds(t) for t in texts]
    segments = tuple(Segment(i, 0.0, 0.0, t) for i, t in enumerate(texts))
    guessed = guess_speakers(Transcript(segments, language=language, engine=""))
    return [_CUE_LEANING if s == Speaker.CLINICIAN else -_CUE_LEANING for s in guessed]


def _words_only(
    texts: list[str], leanings: list[float], language: str, joined: Sequence[bool] = ()
) -> list[Speaker]:
    if lexicon_for(language).language == "en":
        return role_model().roles(texts, joined)
    return [Speaker.CLINICIAN if v > 0 else Speaker.PATIENT for v in leanings]


def sentence_roles(
    texts: list[str], voices: list[float], language: str, joined: Sequence[bool] = ()
) -> list[Speaker]:
    """A role per sentence from its words and its voice leaning (voice 0 over voice 1, in
    log-likelihood; 0.0 when the sound cannot tell). ``joined[i]``: sentence ``i`` is in the
    same ASR segment as the one before it."""
    words = _word_leanings(texts, language)
    fallback = _words_only(texts, words, language, joined)
    heard = [i for i, v in enumerate(voices) if v != 0.0]
    if not heard:
        return fallback
    vote = [0.0, 0.0]
    count = [0, 0]
    for i in heard:
        side = 0 if voices[i] > 0 else 1
        vote[side] += max(-_VOTE_CAP, min(_VOTE_CAP, words[i]))
        count[side] += 1
    mean = [vote[k] / count[k] if count[k] else 0.0 for k in (0, 1)]
    clinician = 0 if mean[0] >= mean[1] else 1
    roles: list[Speaker] = []
    for i, lean in enumerate(voices):
        if lean == 0.0:
            roles.append(fallback[i])
            continue
        side = 0 if lean > 0 else 1
        role = Speaker.CLINICIAN if side == clinician else Speaker.PATIENT
        if abs(words[i]) >= STRONG_WORDS and (words[i] > 0) != (role == Speaker.CLINICIAN):
            role = Speaker.CLINICIAN if words[i] > 0 else Speaker.PATIENT
        roles.append(role)
    return roles


def label(segments: Sequence[Segment], voices: Voices, language: str) -> list[Segment]:
    """``segments`` with a clinician or patient role each, split where the role changes
    inside one (ids renumbered from 0)."""
    sentences = _sentences(segments, language)
    heard = voices.distinct([(s.start, s.end) for s in segments])
    if heard:
        sentences = _split_at_changes(sentences, segments, voices)
    texts = [segments[s.segment].text[s.begin : s.end].strip() for s in sentences]
    leanings = [voices.leaning(s.start, s.stop) if heard else 0.0 for s in sentences]
    joined = [i > 0 and s.segment == sentences[i - 1].segment for i, s in enumerate(sentences)]
    roles = sentence_roles(texts, leanings, language, joined)
    out: list[Segment] = []
    run: list[int] = []

    def close() -> None:
        first, last = sentences[run[0]], sentences[run[-1]]
        segment = segments[first.segment]
        whole = first.begin == 0 and last.end == len(segment.text)
        text = segment.text if whole else segment.text[first.begin : last.end].strip()
        start = segment.start if first.begin == 0 else round(first.start, 3)
        end = segment.end if last.end == len(segment.text) else round(last.stop, 3)
        if text:
            out.append(Segment(len(out), start, end, text, roles[run[0]]))

    for i, sentence in enumerate(sentences):
        if run and (sentences[run[-1]].segment != sentence.segment or roles[run[-1]] != roles[i]):
            close()
            run = []
        run.append(i)
    if run:
        close()
    return out


class RoleTranscriber(Transcriber):
    """Gives every segment ``inner`` leaves without a speaker a clinician or patient role."""

    def __init__(self, inner: Transcriber) -> None:
        self.inner = inner
        self.name = inner.name

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def transcribe(
        self, audio: AudioFile, options: TranscribeOptions
    ) -> AsyncIterator[TranscriptionUpdate]:
        language = (options.language or "").split("-")[0].lower() or "en"
        held: list[Segment] = []
        told = 0.0
        async for update in self.inner.transcribe(audio, options):
            if isinstance(update, Segment) and update.speaker == Speaker.UNKNOWN:
                held.append(update)
                told = max(told, min(update.end, audio.duration))
                yield Progress(told, audio.duration, update.text + " ")
                continue
            if isinstance(update, DetectedLanguage) and not options.language:
                language = update.code.split("-")[0].lower()
            elif isinstance(update, Progress) and update.processed_seconds <= told:
                continue  # said already, with the segment's text
            yield update
        if held:
            voices = await asyncio.to_thread(listen, audio.path)
            for segment in label(held, voices, language):
                yield segment
