"""What the clinician announces ("let me check it out", "let's take a look") is no finding and
stays out of the note; a plan said the same way stays in."""

from __future__ import annotations

import pytest

from core.domain import Speaker
from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.sentences import Unit, is_empty


def unit(text: str) -> Unit:
    return Unit(0, 0, Speaker.CLINICIAN, text, question=False, segments=(0,))


@pytest.mark.parametrize(
    "said",
    [
        "Okay, let me check it out.",
        "Okay, let me see your hand.",
        "Let me check your ears.",
        "Let's take a look at that finger.",
    ],
)
def test_an_announcement_is_left_out(said: str) -> None:
    assert is_empty(unit(said), lexicon_for("en"))


@pytest.mark.parametrize(
    "said",
    [
        # A drug or a number makes it a plan.
        "Let me check your potassium again in 2 weeks.",
        "Let me see if we can start you on metformin.",
        # More than a few words after a brief announcement: what follows is kept.
        "Let me check the x-ray, there is a fracture of the distal radius.",
        "Let me check a urine culture and a thyroid panel.",
        "I want a dermatologist to check it out.",
        # No announcement at all.
        "Your exam shows tenderness over the distal phalanx.",
    ],
)
def test_a_plan_or_a_finding_is_kept(said: str) -> None:
    assert not is_empty(unit(said), lexicon_for("en"))
