"""parse_transcript_text: speakers, inline markers, ids, and refusal of empty text."""

from __future__ import annotations

import pytest

from core.domain import Speaker
from core.errors import InvalidArgument
from core.transcript_text import parse_transcript_text


def test_prefixes_map_to_speakers_case_insensitively() -> None:
    text = (
        "DOCTOR: hello\ndr: how are you\nPatient: fine\nMédico: hola\nDoctora: sí\npaciente: bien"
    )
    transcript = parse_transcript_text(text, language="es", engine="typed")
    assert [s.speaker for s in transcript.segments] == [
        Speaker.CLINICIAN,
        Speaker.CLINICIAN,
        Speaker.PATIENT,
        Speaker.CLINICIAN,
        Speaker.CLINICIAN,
        Speaker.PATIENT,
    ]
    assert [s.text for s in transcript.segments] == [
        "hello",
        "how are you",
        "fine",
        "hola",
        "sí",
        "bien",
    ]
    assert transcript.language == "es"
    assert transcript.engine == "typed"


def test_inline_markers_split_one_line_into_turns() -> None:
    transcript = parse_transcript_text("[doctor] any pain ? [patient] no . [doctor] good .")
    assert [(s.speaker, s.text) for s in transcript.segments] == [
        (Speaker.CLINICIAN, "any pain ?"),
        (Speaker.PATIENT, "no ."),
        (Speaker.CLINICIAN, "good ."),
    ]


def test_lines_without_prefix_are_unknown_with_ids_from_zero_and_no_times() -> None:
    transcript = parse_transcript_text("first line\n\n  second   line  \nPatient: third")
    assert [s.id for s in transcript.segments] == [0, 1, 2]
    assert [s.speaker for s in transcript.segments] == [
        Speaker.UNKNOWN,
        Speaker.UNKNOWN,
        Speaker.PATIENT,
    ]
    assert transcript.segments[1].text == "second line"
    assert all(s.start == 0.0 and s.end == 0.0 for s in transcript.segments)


def test_a_colon_mid_sentence_is_not_a_speaker() -> None:
    transcript = parse_transcript_text("we discussed the patient: she is fine")
    assert transcript.segments[0].speaker == Speaker.UNKNOWN
    assert transcript.segments[0].text == "we discussed the patient: she is fine"


@pytest.mark.parametrize("text", ["", "   \n\t", "... ?? !", "Doctor:\nPatient: ..."])
def test_text_without_words_is_refused_on_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_transcript_text(text)
    assert [v.field for v in caught.value.violations] == ["transcript_text"]
    assert caught.value.message.startswith("transcript_text must")
