"""Faithfulness (issue 11, item 7): the note states no number, drug or side its transcript
does not, dictation commands and filler fragments stay out, and "I"/"my" become "the
patient" only in the patient's own turns."""

from __future__ import annotations

import gzip
import json

from core.domain import Note, Template
from core.transcript_text import parse_transcript_text
from eval.build_drug_lexicon import LEXICON, build
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note
from workers.engines.notes.local.drugs import drugs_in, near_miss
from workers.engines.notes.local.facts import Facts, facts_of, transcript_facts, unsupported


def _note(text: str, lang: str = "en") -> Note:
    request = NoteRequest(Template.HISTORY_AND_PHYSICAL, lang)
    return write_note(parse_transcript_text(text, language=lang), request)


def test_facts_are_read_from_words_and_digits_alike() -> None:
    said = facts_of("metformina ochocientos cincuenta miligramos en la rodilla izquierda", "es")
    assert said == Facts(frozenset({"850"}), frozenset({"metformin"}), frozenset({"left"}))
    written = facts_of("Metformin 850 mg, left knee.", "en")
    assert written == said


def test_numbers_compare_by_value_as_notes_write_them() -> None:
    source = facts_of("one thousand five hundred milligrams, zero point five, 120 over 80", "en")
    assert unsupported("1,500 mg and 0.50 mg; BP 120/80.", source, "en") == []
    assert unsupported("0,5 mg", facts_of("cero coma cinco miligramos", "es"), "es") == []


def test_a_dose_drug_or_side_not_said_is_reported() -> None:
    source = facts_of("naproxen five hundred milligrams for the right knee", "en")
    assert unsupported("Naproxen 500 mg for the right knee.", source, "en") == []
    assert unsupported("Naproxen 550 mg for the right knee.", source, "en") == ["number 550"]
    assert unsupported("Ibuprofen 500 mg.", source, "en") == ["drug ibuprofen"]
    assert unsupported("Naproxen 500 mg, left knee.", source, "en") == ["side left"]


def test_a_brand_name_supports_its_generic() -> None:
    source = facts_of("she takes Tylenol and losartán", "en")
    assert unsupported("She takes acetaminophen and losartan.", source, "en") == []


def test_right_as_an_idiom_is_no_side() -> None:
    source = facts_of("All right, that's right, right now it feels stuck, right?", "en")
    assert source.sides == frozenset()
    assert facts_of("pain in the right hip", "en").sides == frozenset({"right"})


def test_facts_are_not_read_across_two_turns() -> None:
    # "two" ends one turn and "hundred" opens the next: no 200 was said.
    source = transcript_facts(["take two", "hundred people came"], "en")
    assert "200" not in source.numbers
    assert {"2", "100"} <= source.numbers


def test_the_engine_leaves_out_a_sentence_whose_dose_was_not_said_whole() -> None:
    # "two two hundred" is no number; removing the stutter would make it 200 mg.
    note = _note(
        "Patient: My knee hurts when I walk, it has been hurting for 3 weeks.\n"
        "Doctor: I'm going to prescribe ibuprofen two two hundred milligrams for the pain.\n"
        "Doctor: I'm going to prescribe naproxen five hundred milligrams twice a day.\n"
    )
    rendered = note.render()
    assert "naproxen 500 mg twice a day" in rendered
    assert "200" not in rendered
    assert "ibuprofen" not in rendered


def test_every_note_fact_is_in_the_transcript() -> None:
    text = (
        "Doctor: What brings you in today?\n"
        "Patient: My left knee has been hurting for two weeks and I take Tylenol five hundred "
        "milligrams.\n"
        "Doctor: On exam your blood pressure is one twenty over eighty.\n"
        "Doctor: There is swelling of the left knee.\n"
        "Doctor: I'm going to prescribe meloxicam fifteen milligrams once a day for 10 days.\n"
    )
    note = _note(text)
    source = transcript_facts([s.text for s in parse_transcript_text(text).segments], "en")
    for section in note.sections:
        for sentence in section.sentences:
            assert unsupported(sentence.text, source, "en") == [], sentence.text
    assert "meloxicam 15 mg once a day for 10 days" in note.render()


def test_dictation_commands_stay_out() -> None:
    note = _note(
        "Patient: My left knee has been hurting for two weeks when I climb stairs.\n"
        "Doctor: Dragon, show me the x-ray of the left knee.\n"
        "Doctor: Okay, Dragon, show me the last labs please.\n"
        "Doctor: Hey computer, open the chart for the last visit.\n"
        "Doctor: The x-ray of the left knee shows mild arthritis.\n"
        "Doctor: Dragon, order a knee brace for the left knee.\n"
    ).render()
    # What is dictated to the assistant is kept without its name; its commands are not.
    assert "Order a knee brace for the left knee." in note
    assert "dragon" not in note.lower()
    assert "show me" not in note.lower()
    assert "computer" not in note.lower()
    assert "The x-ray of the left knee shows mild arthritis." in note


def test_a_command_said_inside_a_sentence_stays_out() -> None:
    # The sample recording's results, as tiny.en heard them: the command is mid-sentence.
    note = _note(
        "Patient: I have a lot of pain at the end of my right middle finger.\n"
        "Doctor: Let's look at her x-ray, hey, Dragon, show me the last x-ray, so what I'm "
        "seeing here is a fracture on the tip of this middle finger.\n"
        "Doctor: Her finger is swollen, Dragon, tenderness over the distal phalanx.\n"
    ).render()
    assert "dragon" not in note.lower()
    assert "show me" not in note.lower()
    assert "hey" not in note.lower()
    assert "a fracture on the tip of this middle finger" in note
    assert "tenderness over the distal phalanx" in note  # dictation after the name stays


def test_a_question_tacked_onto_a_statement_is_cut_off() -> None:
    # The sample recording's opening as tiny.en heard it: no question mark.
    note = _note(
        "Doctor: I'm seeing Ms. Hill, she's a 41-year-old female, and what brings you in to me.\n"
        "Patient: I have a lot of pain at the end of my right middle finger.\n"
        "Doctor: The x-ray shows a fracture of the distal phalanx, which is not displaced.\n"
        "Doctor: Come back in two weeks for another x-ray, any questions for me.\n"
        "Doctor: I'll put you in a finger splint to wear until then any questions.\n"
    ).render()
    assert "41-year-old female" in note
    assert "what brings" not in note.lower()
    assert "any questions" not in note.lower()
    assert "finger splint to wear until then." in note  # no comma before the question
    assert "which is not displaced" in note  # a clause that is not a question stays
    spanish = _note(
        "Médico: Veo a la señora Ruiz, de 52 años, y qué le trae por aquí.\n"
        "Paciente: Me duele la rodilla izquierda desde hace tres semanas.\n",
        "es",
    ).render()
    assert "52 años" in spanish
    assert "qué le trae" not in spanish.lower()
    # A valid visit from audio: the question would read as a statement about the patient.
    heard = _note(
        "Patient: My ankles have been swelling for a week.\n"
        "Doctor: I want you to keep watching your diet, how have you been doing with that.\n"
        "Patient: I have been eating less salt.\n"
    ).render()
    assert "keep watching" in heard and "how have" not in heard.lower()


def test_filler_fragments_stay_out() -> None:
    note = _note(
        "Patient: My left knee has been hurting for two weeks when I climb stairs.\n"
        "Doctor: Um, so, uh, you know, like.\n"
        "Patient: Mm-hmm, yeah, okay.\n"
        "Doctor: Uh, well, um.\n"
    ).render()
    for fragment in ("um", "uh", "you know", "mm-hmm", "well"):
        assert f" {fragment}" not in f" {note.lower()}".replace("\n", " ")
    assert "The patient's left knee has been hurting for 2 weeks" in note


def test_first_person_becomes_the_patient_only_in_the_patients_turns() -> None:
    note = _note(
        "Patient: I have had chest pain for three days and my arm feels heavy.\n"
        "Doctor: I have reviewed my notes from your last visit and your ECG shows no changes.\n"
        "Doctor: I'm going to prescribe aspirin 81 mg once a day.\n"
    ).render()
    assert "The patient has had chest pain for 3 days" in note
    assert "the patient's arm feels heavy" in note
    assert "the patient has reviewed" not in note.lower()
    assert "I'm going to prescribe aspirin 81 mg once a day." in note


def test_drugs_are_found_by_any_of_their_names_in_both_languages() -> None:
    found = drugs_in("Le receto metformina, losartán y paracetamol; also Lipitor.")
    assert set(found.values()) == {"metformin", "losartan", "acetaminophen", "atorvastatin"}
    assert drugs_in("she sits on the chair, all clear") == {}


def test_near_misses_are_corrected_only_when_the_match_is_strong() -> None:
    assert near_miss("lisinipril") == "lisinopril"
    assert near_miss("metforman") == "metformin"
    assert near_miss("hydrochlorathiazide") == "hydrochlorothiazide"
    # Real drugs, ordinary words and short words are never "corrected".
    for word in ("metformin", "naproxen", "patient", "pressure", "medicine", "tablets", "knee"):
        assert near_miss(word) is None, word


def test_the_committed_drug_lexicon_is_the_packages() -> None:
    committed = json.loads(gzip.decompress(LEXICON.read_bytes()))
    assert committed == build()


def test_a_misheard_drug_before_a_dose_is_corrected_and_marked() -> None:
    text = (
        "Doctor: I'm going to prescribe lisinipril ten milligrams once a day.\n"
        "Doctor: Continue Metforman 500 mg twice a day.\n"
        "Patient: I get allergies 2 times a year and I sneeze a lot in the spring.\n"
    )
    note = _note(text)
    marked = {
        (c.heard, c.written): s.text
        for sec in note.sections
        for s in sec.sentences
        for c in s.corrections
    }
    assert set(marked) == {("lisinipril", "lisinopril"), ("Metforman", "Metformin")}
    assert "lisinopril 10 mg once a day" in marked[("lisinipril", "lisinopril")]
    assert "Continue Metformin 500 mg twice a day" in marked[("Metforman", "Metformin")]
    # An ordinary word near a drug name ("allergies", "allergoids") is never changed.
    assert "allergies" in note.render()
    # The corrected drug counts as said: the transcript's near miss supports it.
    source = transcript_facts([s.text for s in parse_transcript_text(text).segments], "en")
    assert all(
        unsupported(s.text, source, "en") == [] for sec in note.sections for s in sec.sentences
    )
