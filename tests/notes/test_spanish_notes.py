"""The local engine's Spanish notes carry every fact of the consultation exactly (issue 11,
items 6 and 8): drugs, doses, frequencies, durations and follow-up, numbers in digits."""

from __future__ import annotations

import pytest

from core.domain import Template
from core.transcript_text import parse_transcript_text
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note
from workers.engines.notes.local.facts import transcript_facts, unsupported
from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.rewrite import Pronouns, third_person
from workers.engines.notes.local.sentences import sentence_case

from .spanish_consultations import CONSULTATIONS, Consultation


def test_there_are_at_least_ten_consultations() -> None:
    assert len(CONSULTATIONS) >= 10


@pytest.mark.parametrize("consultation", CONSULTATIONS, ids=lambda c: c.name)
def test_the_spanish_note_carries_each_fact_exactly(consultation: Consultation) -> None:
    transcript = parse_transcript_text(consultation.dialogue, language="es")
    note = write_note(transcript, NoteRequest(Template.SOAP, "es"))
    rendered = note.render()
    assert rendered.startswith("SUBJETIVO\n")
    missing = [fact for fact in consultation.facts if fact not in rendered]
    assert missing == [], rendered
    source = transcript_facts([s.text for s in transcript.segments], "es")
    for section in note.sections:
        for sentence in section.sentences:
            assert unsupported(sentence.text, source, "es") == [], sentence.text


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("Toso por la noche.", "Tose por la noche."),
        ("Orino mucho desde hace una semana.", "Orina mucho desde hace una semana."),
        ("Me mareo cuando me levanto.", "Se marea cuando se levanta."),
        ("Me falta el aire cuando subo escaleras.", "Le falta el aire cuando sube escaleras."),
        # A noun after an article or a possessive stays a noun.
        ("Tengo mucho estrés en mi trabajo.", "Tiene mucho estrés en su trabajo."),
        (
            "Me duele al dar el primer paso por la mañana.",
            "Le duele al dar el primer paso por la mañana.",
        ),
        ("Me pongo veinte unidades de insulina.", "Se pone veinte unidades de insulina."),
        ("Voy de camino al trabajo.", "Va de camino al trabajo."),
        # "como" is "like" here, never "I eat".
        ("Me siento como si tuviera fiebre.", "Se siente como si tuviera fiebre."),
    ],
)
def test_the_patients_own_words_read_in_the_third_person(said: str, written: str) -> None:
    lexicon = lexicon_for("es")
    assert sentence_case(third_person(said, lexicon, Pronouns.guess("", lexicon))) == written
