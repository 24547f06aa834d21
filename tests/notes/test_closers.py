"""A word that only closes a sentence ("..., okay.", a recognizer's "... longer okay well.")
is cut from it; "okay" that says how something is stays. (``clean`` also drops openers such
as "but" and writes numbers as digits, which the expected texts show.)"""

from __future__ import annotations

import pytest

from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.sentences import clean

from .writing import note_of, section_of


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("I want to see you again in two weeks, okay.", "I want to see you again in 2 weeks."),
        ("But this is taking a lot longer okay well.", "this is taking a lot longer."),
        (
            "His sensation is intact to light touch all right and.",
            "His sensation is intact to light touch.",
        ),
        ("Then we'll order an echo, alright.", "we'll order an echo."),
        # Without a comma a lone "okay" may say how something is: it stays.
        ("Her labs came back okay.", "Her labs came back okay."),
        ("I'm sleeping okay.", "I'm sleeping okay."),
        ("We will get that set up okay", "We will get that set up okay"),
        # A closer that is a sentence of its own is left to the sentence split.
        ("Is that right? Okay.", "Is that right? Okay."),
        # What "okay" is said of stays.
        ("I'm okay.", "I'm okay."),
        ("The wound looks okay.", "The wound looks okay."),
        ("Everything else has been okay.", "Everything else has been okay."),
        ("I feel all right.", "I feel all right."),
        ("Is that okay?", "Is that okay?"),
        # Nothing but the closer is left alone (too short to be a sentence without it).
        ("Sounds okay.", "Sounds okay."),
        # "right" is a side, never a closer.
        ("There is tenderness on the right.", "There is tenderness on the right."),
    ],
)
def test_an_english_closer_is_cut_and_a_state_is_kept(said: str, kept: str) -> None:
    assert clean(said, lexicon_for("en")) == kept


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("Tome el ibuprofeno con comida, vale.", "Tome el ibuprofeno con comida."),
        ("Nos vemos en dos semanas, de acuerdo.", "Nos vemos en 2 semanas."),
        ("Estoy de acuerdo.", "Estoy de acuerdo."),
        ("El resultado es bueno.", "El resultado es bueno."),
        ("El control ha sido bueno.", "El control ha sido bueno."),
        ("Ella estuvo de acuerdo.", "Ella estuvo de acuerdo."),
    ],
)
def test_a_spanish_closer_is_cut_and_a_state_is_kept(said: str, kept: str) -> None:
    assert clean(said, lexicon_for("es")) == kept


def test_the_note_carries_the_plan_without_the_closer() -> None:
    note = note_of(
        "Doctor: Your blood pressure is high today.\n"
        "Doctor: I'm going to start you on lisinopril 10 mg once a day, okay.\n"
        "Patient: Okay.\n"
    )
    plan = section_of(note, "assessment_and_plan")
    assert "lisinopril 10 mg once a day." in plan.lower()
    assert "okay" not in plan.lower()
