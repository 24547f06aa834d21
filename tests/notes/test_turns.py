"""Turns, sentences and roles rebuilt from ASR segments (issue 11, items 2 and 1's words half).

Segments below are cut the way tiny.en cuts them: at pauses, mid-sentence, and on a mono
recording with no speaker at all.
"""

from __future__ import annotations

from core.domain import Note, Segment, Speaker, Template, Transcript
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note
from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.roles import role_model
from workers.engines.notes.local.sentences import sentences_of
from workers.engines.notes.local.turns import pieces_of

MONO = [
    "What brings you in today?",
    "I've had this pain in my",
    "left knee for about two weeks, it gets worse when I climb stairs.",
    "Do you take any medicines? Yes, I take my metformin for my diabetes every morning.",
    "Okay. On exam, there is tenderness over the medial",
    "joint line of the left knee and a small effusion.",
    "I think you have a meniscus sprain. I'm going to prescribe naproxen five hundred",
    "milligrams twice a day with food.",
    "Okay, that sounds good.",
]


def _transcript(texts: list[str], speakers: list[Speaker] | None = None) -> Transcript:
    roles = speakers or [Speaker.UNKNOWN] * len(texts)
    segments = tuple(
        Segment(id=10 + i, start=2.0 * i, end=2.0 * i + 1.9, text=t, speaker=s)
        for i, (t, s) in enumerate(zip(texts, roles, strict=True))
    )
    return Transcript(segments=segments, language="en", engine="local:test")


def _sentences(note: Note) -> dict[str, tuple[int, ...]]:
    return {s.text: s.evidence for sec in note.sections for s in sec.sentences}


def test_a_sentence_cut_across_segments_is_rebuilt_with_both_ids_as_evidence() -> None:
    note = write_note(_transcript(MONO), NoteRequest(Template.HISTORY_AND_PHYSICAL, "en"))
    found = _sentences(note)
    plan = next(t for t in found if "naproxen" in t)
    # The dose was cut between two segments: rebuilt whole, never "naproxen 500" alone.
    assert "naproxen 500 mg twice a day with food" in plan
    assert found[plan] == (16, 17)
    history = next(t for t in found if "left knee for about 2 weeks" in t)
    assert history.startswith("The patient has had this pain in the patient's left knee")
    assert found[history] == (11, 12)
    exam = next(t for t in found if "tenderness over the medial joint line" in t)
    assert found[exam] == (14, 15)
    rendered = note.render()
    assert "physical examination" in rendered.lower()
    section_of = {s.text: sec.key for sec in note.sections for s in sec.sentences}
    assert section_of[plan] == "assessment_and_plan"
    assert section_of[history] == "history_of_present_illness"
    assert section_of[exam] == "physical_examination"


def test_one_segment_holding_both_speakers_gives_each_sentence_its_role() -> None:
    pieces = pieces_of(_transcript(MONO), lexicon_for("en"))
    roles = {p.text: p.speaker for p in pieces}
    assert roles["Do you take any medicines?"] == Speaker.CLINICIAN
    assert roles["Yes, I take my metformin for my diabetes every morning."] == Speaker.PATIENT
    assert roles["What brings you in today?"] == Speaker.CLINICIAN
    both = [p for p in pieces if p.segments == (13,)]
    assert [p.speaker for p in both] == [Speaker.CLINICIAN, Speaker.PATIENT]
    note = write_note(_transcript(MONO), NoteRequest(Template.HISTORY_AND_PHYSICAL, "en"))
    history = " ".join(
        s.text
        for sec in note.sections
        for s in sec.sentences
        if sec.key == "history_of_present_illness"
    )
    assert "metformin for the patient's diabetes every morning" in history


def test_roles_given_by_the_transcriber_are_kept() -> None:
    # Two channels: the clinician reads a patient's words aloud; the channel's role stands.
    texts = ["I have had chest pain for 3 days, she told the nurse.", "Yes, that's right."]
    speakers = [Speaker.CLINICIAN, Speaker.PATIENT]
    pieces = pieces_of(_transcript(texts, speakers), lexicon_for("en"))
    assert [p.speaker for p in pieces] == speakers


def test_segments_of_different_speakers_are_never_joined() -> None:
    texts = ["So the pain started", "Two weeks ago, yes."]
    pieces = pieces_of(
        _transcript([*texts, "Okay."], [Speaker.CLINICIAN, Speaker.PATIENT, Speaker.CLINICIAN]),
        lexicon_for("en"),
    )
    assert [p.segments for p in pieces] == [(10,), (11,), (12,)]


def test_unpunctuated_asr_is_not_joined_across_segments() -> None:
    texts = ["what brings you in today", "i have had back pain for two weeks"]
    pieces = pieces_of(_transcript(texts), lexicon_for("en"))
    assert all(len(p.segments) == 1 for p in pieces)


def test_the_role_model_reads_questions_plans_and_first_person_symptoms() -> None:
    model = role_model()
    clinician = [
        "Do you have any chest pain?",
        "I want you to take this twice a day.",
        "We'll order an x-ray of your knee.",
        "On exam your lungs are clear.",
    ]
    patient = [
        "I've had a headache for three days.",
        "My knee hurts when I walk.",
        "It started last week after I fell.",
    ]
    assert all(model.log_odds(s) > 0 for s in clinician), [model.log_odds(s) for s in clinician]
    assert all(model.log_odds(s) < 0 for s in patient), [model.log_odds(s) for s in patient]
    # Viterbi keeps a turn of several sentences together.
    turn = ["How long has this been going on?", "About a week.", "It hurts more at night."]
    assert model.roles(turn) == [Speaker.CLINICIAN, Speaker.PATIENT, Speaker.PATIENT]


def test_a_comma_splice_is_cut_into_two_sentences_each_with_its_own_segments() -> None:
    # Whisper writes "..., I don't know ..." where a scribe writes a full stop.
    said = (
        "I just feel out of sorts lately, I don't know if it's the change in the seasons "
        "or all the projects around the house."
    )
    lexicon = lexicon_for("en")
    assert [s for s, _ in sentences_of(said, lexicon)] == [
        "I just feel out of sorts lately",
        "I don't know if it's the change in the seasons or all the projects around the house.",
    ]
    # Cut across three segments: each sentence points at the segments it was said in.
    texts = [
        "I have been so tired this month.",
        "I just feel out of",
        "sorts lately, I don't know if it's the change",
        "in the seasons or all the projects around the house.",
        "It all started in May.",
    ]
    transcript = _transcript(texts, [Speaker.PATIENT] * 5)
    pieces = pieces_of(transcript, lexicon)
    assert [(p.text, p.segments) for p in pieces[1:3]] == [
        ("I just feel out of sorts lately", (11, 12)),
        (
            "I don't know if it's the change in the seasons or all the projects around the house.",
            (12, 13),
        ),
    ]
    note = write_note(transcript, NoteRequest(Template.SOAP, "en"))
    assert _sentences(note)["The patient just feels out of sorts lately."] == (11, 12)


def test_a_subordinate_clause_or_a_short_side_is_not_cut_off() -> None:
    lexicon = lexicon_for("en")
    for said in (
        "If the pain gets worse over the weekend, you should call me right away.",
        "And when you take the naproxen with food, you should not get a stomach ache.",
        "Okay, I think that's fine.",  # "Okay" alone is no sentence
        "I had a fever for two days, I think.",  # neither is "I think"
    ):
        assert [s for s, _ in sentences_of(said, lexicon)] == [said]


def test_spanish_sentences_are_not_cut_at_commas() -> None:
    # Spanish drops the subject ("creo que ..."): a comma before a clause cannot be told.
    said = "Me duele la cabeza desde hace tres días, yo creo que es por el estrés del trabajo."
    assert [s for s, _ in sentences_of(said, lexicon_for("es"))] == [said]


def test_segments_mostly_cut_mid_sentence_are_still_joined_into_sentences() -> None:
    # Whisper punctuates, yet in some recordings it ends most segments mid-sentence (a
    # window read without a full stop): only one of these four ends a sentence.
    said = [
        "listen to your heart, so on your heart exam I do still hear that grade 2 out of 6",
        "systolic ejection murmur, and you already had that, and so we knew about that, so let",
        "me look at your knee here, so when I press here on the inside of your knee, does it",
        "hurt? I see some effusion around the knee.",
    ]
    speakers = [Speaker.CLINICIAN] * len(said)
    pieces = pieces_of(_transcript(said, speakers), lexicon_for("en"))
    murmur = next(p for p in pieces if "ejection murmur" in p.text)
    assert "grade 2 out of 6 systolic ejection murmur" in murmur.text
    assert murmur.segments == (10, 11)
    asked = next(p for p in pieces if p.question)
    assert (asked.text, asked.segments) == ("does it hurt?", (12, 13))
