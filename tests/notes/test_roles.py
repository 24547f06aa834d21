"""The words role model's Viterbi pass (notes/local/roles.py): how likely a turn continues
depends on whether the next sentence was heard in the same stretch of speech."""

from __future__ import annotations

from core.domain import Speaker
from workers.engines.notes.local.roles import RoleModel

#: "pain" leans patient, "exam" clinician; nothing else carries weight.
MODEL = RoleModel(
    weights={"pain": -4.0, "exam": 4.0, "okay": -0.5},
    prior=0.0,
    stay=0.5,
    scale=1.0,
    stay_in_segment=0.9,
)
SAID = ["Let me exam your knee.", "Okay.", "My pain is bad."]


def test_without_segments_each_sentence_follows_its_words() -> None:
    # "Okay." leans patient a little, and with stay 0.5 nothing holds it to the turn before.
    assert MODEL.roles(SAID) == [Speaker.CLINICIAN, Speaker.PATIENT, Speaker.PATIENT]


def test_a_sentence_in_the_same_segment_keeps_the_turn_when_staying_is_likely() -> None:
    joined = [False, True, False]
    assert MODEL.roles(SAID, joined) == [
        Speaker.CLINICIAN,
        Speaker.CLINICIAN,
        Speaker.PATIENT,
    ]
    # Right after a question the answer's rule holds, in one segment or not ("Any fever?
    # No.").
    asked = ["Let me exam your knee?", "Okay.", "My pain is bad."]
    assert MODEL.roles(asked, joined)[1] == MODEL.roles(asked)[1]
