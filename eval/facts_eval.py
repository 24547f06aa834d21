"""Fact figures of the notes evaluation: unsupported facts, drug recall, role accuracy.

- ``unsupported_facts``: numbers, drugs and sides stated in a note that its transcript does
  not state (``workers.engines.notes.local.facts``), summed over every note scored. Must be 0.
- ``drug_recall``: of the drugs the reference note names that the transcript also names
  (what a note could carry), the share our note names too (by canonical drug).
- ``role_accuracy``: share of words whose sentence gets its speaker's role when the speaker
  labels are removed (the words-only role model with its Viterbi pass).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.transcript_text import parse_transcript_text
from eval.train_roles import labelled_sentences, word_accuracy
from workers.engines.notes.local.drugs import drugs_in
from workers.engines.notes.local.facts import facts_of, transcript_facts
from workers.engines.notes.local.roles import role_model


@dataclass(frozen=True, slots=True)
class FactCounts:
    """Counts summed over notes."""

    unsupported: int
    drugs_expected: int
    drugs_found: int

    @property
    def drug_recall(self) -> float:
        return self.drugs_found / self.drugs_expected if self.drugs_expected else 1.0

    def __add__(self, other: FactCounts) -> FactCounts:
        return FactCounts(
            self.unsupported + other.unsupported,
            self.drugs_expected + other.drugs_expected,
            self.drugs_found + other.drugs_found,
        )


def unsupported_in(note: str, transcript_texts: Iterable[str], language: str) -> list[str]:
    """The facts of ``note`` (read line by line) that the transcript does not state."""
    source = transcript_facts(transcript_texts, language)
    missing: set[str] = set()
    for line in note.splitlines():
        missing.update(facts_of(line, language).missing_from(source))
    return sorted(missing)


def count_facts(
    dialogue: str, reference: str, note: str, language: str = "en", *, said: str | None = None
) -> FactCounts:
    """One note's figures; ``said`` is what the transcript holds when it is not the dialogue
    (the audio path's ASR transcript)."""
    texts = [s.text for s in parse_transcript_text(said if said is not None else dialogue).segments]
    unsupported = len(unsupported_in(note, texts, language))
    spoken = set(drugs_in(dialogue).values())
    expected = set(drugs_in(reference).values()) & spoken
    found = expected & set(drugs_in(note).values())
    return FactCounts(unsupported, len(expected), len(found))


def total(counts: Sequence[FactCounts]) -> FactCounts:
    result = FactCounts(0, 0, 0)
    for count in counts:
        result = result + count
    return result


def role_accuracy(dialogues: Iterable[str]) -> float:
    """Share of words given the right role, speaker labels removed, sentence by sentence."""
    return word_accuracy(role_model(), [labelled_sentences(d) for d in dialogues])
