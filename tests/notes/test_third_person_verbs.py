"""The patient's "I <verb>" reads in the third person for verbs whose base form is never
their past ("when I climb stairs" -> "when the patient climbs stairs"); a verb whose past is
its base ("I hurt my knee") is left as said rather than guessed."""

from __future__ import annotations

import pytest

from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.rewrite import Pronouns, third_person

from .writing import note_of, section_of

EN = lexicon_for("en")


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("When I climb stairs", "When the patient climbs stairs"),
        ("I cough at night", "the patient coughs at night"),
        ("I carry an inhaler", "the patient carries an inhaler"),
        ("I stretch every morning", "the patient stretches every morning"),
        ("I still wheeze", "the patient still wheezes"),
        # The subject of a question stays as said.
        ("Can I exercise?", "Can I exercise?"),
        ("When can I drive again?", "When can I drive again?"),
        # Past and present alike: not guessed.
        ("I hurt my knee", "the patient hurt her knee"),
    ],
)
def test_the_patients_verbs_agree_with_the_patient(said: str, written: str) -> None:
    pronouns = Pronouns("she", "her", "her")
    assert third_person(said, EN, pronouns) == written


def test_a_pronoun_is_no_part_of_the_chief_complaint() -> None:
    note = note_of(
        "Doctor: How are you doing today?\n"
        "Patient: When I climb stairs I cough a lot.\n"
        "Doctor: Let's get a chest x-ray."
    )
    assert section_of(note, "chief_complaint") == "Cough."
    assert "the patient coughs" in section_of(note, "history_of_present_illness")
