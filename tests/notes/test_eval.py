"""The evaluation harness: the scorer, calibration, results merging and the direct writer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from eval.__main__ import CalibrationError, calibrate, main, unlabelled
from eval.results import merge_results, report
from eval.rouge import mean_rouge, per_note
from eval.writers import DirectWriter, NoteWriter, make_writer

from .dialogues import KNEE

REFERENCES = [
    "CHIEF COMPLAINT\nKnee pain.\n\nPLAN\nNaproxen 500 mg twice a day.",
    "the cat sat on the mat\nit was happy",
]
PREDICTIONS = [
    "CHIEF COMPLAINT\nRight knee pain for 3 weeks.\nPLAN\nNaproxen 500 mg.",
    "a cat sat on a mat\nhappy it was",
]


def test_scorer_computes_what_rouge_score_computes() -> None:
    # Hand count for the second pair: unigrams ref {the:2, cat, sat, on, mat, it, was, happy},
    # prediction {a:2, cat, sat, on, mat, happy, it, was}: 7 shared of 9 each, F1 = 7/9.
    assert per_note(REFERENCES[1:], PREDICTIONS[1:])[0]["rouge1"] == pytest.approx(7 / 9)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=False)
    expected = [scorer.score(r, p) for r, p in zip(REFERENCES, PREDICTIONS, strict=True)]
    got = mean_rouge(REFERENCES, PREDICTIONS)
    assert got.rouge1 == pytest.approx(100 * sum(e["rouge1"].fmeasure for e in expected) / 2)
    assert got.rouge2 == pytest.approx(100 * sum(e["rouge2"].fmeasure for e in expected) / 2)
    assert got.rougelsum == pytest.approx(100 * sum(e["rougeLsum"].fmeasure for e in expected) / 2)


def test_scorer_refuses_mismatched_lists() -> None:
    with pytest.raises(ValueError):
        mean_rouge(["a"], ["a", "b"])


def _fake_data(root: Path, gpt4_note: str) -> Path:
    """A data folder shaped like the shared one, with one test1 encounter."""
    challenge = root / "aci-bench" / "data" / "challenge_data"
    predictions = root / "aci-bench" / "baselines" / "predictions"
    challenge.mkdir(parents=True)
    predictions.mkdir(parents=True)
    dialogue = "[doctor] any fever ? [patient] no . [doctor] take naproxen 500 mg twice a day ."
    note = "REVIEW OF SYSTEMS\nDenies fever.\nPLAN\nNaproxen 500 mg twice a day."
    for name in ("clinicalnlp_taskB_test1.csv", "valid.csv", "train.csv"):
        with (challenge / name).open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["dataset", "encounter_id", "dialogue", "note"])
            out.writerow(["aci", "D2N088", dialogue, note])
    with (predictions / "test1GPT-4_.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Dialogues", "Reference Summaries", "note", "encounter_id"])
        out.writerow([dialogue, note, gpt4_note, "D2N088"])
    return root


def test_calibration_fails_loudly_when_figures_drift(tmp_path: Path) -> None:
    data = _fake_data(tmp_path, "a note that is nothing like the reference")
    with pytest.raises(CalibrationError):
        calibrate(data)
    output = tmp_path / "latest.json"
    assert main(["--data", str(data), "--output", str(output)]) == 2
    assert not output.exists()


def test_results_merge_with_keys_others_wrote(tmp_path: Path) -> None:
    path = tmp_path / "results" / "latest.json"
    merge_results({"wer_direct": 0.21}, path)
    merged = merge_results({"aci_test1_rouge1": 45.0}, path)
    assert merged == {"wer_direct": 0.21, "aci_test1_rouge1": 45.0}
    assert json.loads(path.read_text()) == merged


def test_a_report_prints_every_figure_and_writes_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latest.json"
    report({"aci_valid_audio_rouge1": 47.6}, path, write=False)
    assert capsys.readouterr().out == "aci_valid_audio_rouge1: 47.6\n"
    assert not path.exists()
    report({"aci_test1_audio_rouge1": 44.7}, path)
    assert json.loads(path.read_text()) == {"aci_test1_audio_rouge1": 44.7}
    assert list(path.parent.iterdir()) == [path]


async def test_direct_writer_writes_the_local_engines_note() -> None:
    writer = make_writer("direct")
    assert isinstance(writer, DirectWriter)
    assert isinstance(writer, NoteWriter)
    note = await writer.write(KNEE, "en")
    assert note.startswith("CHIEF COMPLAINT\n")
    assert "naproxen 500 mg twice a day" in note
    with pytest.raises(ValueError):
        make_writer("nonsense")


def test_unlabelled_dialogues_keep_their_turns_without_markers() -> None:
    dialogue = "[doctor] any fever ?\n[patient] no . [patient_guest] she had one"
    assert unlabelled(dialogue) == "any fever ?\nno . she had one"


def test_fact_counts_find_unsupported_facts_and_recall_drugs() -> None:
    from eval.facts_eval import count_facts, role_accuracy

    dialogue = (
        "[doctor] take naproxen five hundred milligrams twice a day for the right knee\n"
        "[patient] i also take tylenol sometimes"
    )
    reference = "PLAN\nNaproxen 500 mg twice a day. Acetaminophen as needed. Lisinopril 10 mg."
    faithful = count_facts(dialogue, reference, "PLAN\nNaproxen 500 mg twice a day, right knee.")
    # Lisinopril was never said, so a note cannot be asked to carry it.
    assert (faithful.unsupported, faithful.drugs_expected, faithful.drugs_found) == (0, 2, 1)
    assert faithful.drug_recall == 0.5
    wrong = count_facts(dialogue, reference, "PLAN\nNaproxen 550 mg, left knee. Ibuprofen.")
    assert wrong.unsupported == 3
    assert 0.0 <= role_accuracy([dialogue]) <= 1.0
    assert role_accuracy(["[doctor] do you have any chest pain?\n[patient] no, none at all."]) == 1


def test_audio_eval_speaks_each_turn_in_order_and_scores_roles_by_time(tmp_path: Path) -> None:
    from core.domain import Segment, Speaker, Transcript
    from eval.audio_notes import synthesize
    from eval.role_hits import role_hits

    dialogue = "[doctor] do you have any chest pain ?\n[patient] no , i feel fine today ."
    turns, spoken = synthesize(dialogue, tmp_path / "a.wav", same_voice=False)
    # Spaced punctuation is joined back, or espeak-ng would say "dot".
    assert spoken == "do you have any chest pain? no, i feel fine today."
    assert [t.speaker for t in turns] == [Speaker.CLINICIAN, Speaker.PATIENT]
    assert 0 == turns[0].start < turns[0].end < turns[1].start < turns[1].end
    assert (tmp_path / "a.wav").stat().st_size > 16000
    # A transcript heard from that audio, with no roles: the role model decides, and each
    # sentence is checked against the turn playing at its time.
    heard = Transcript(
        (
            Segment(0, turns[0].start, turns[0].end, "Do you have any chest pain?"),
            Segment(1, turns[1].start, turns[1].end, "No, I feel fine today."),
        ),
        "en",
        "test",
    )
    assert role_hits(heard, turns) == (11, 11)
    swapped = [type(t)(Speaker.PATIENT if i == 0 else Speaker.CLINICIAN, t.start, t.end)
               for i, t in enumerate(turns)]  # fmt: skip
    assert role_hits(heard, swapped) == (0, 11)


def test_audio_eval_speaks_split_contractions_as_one_word() -> None:
    from eval.audio_notes import speakable

    # ACI-Bench's text splits contractions ("was n't"); espeak-ng must say "wasn't".
    assert speakable("i was n't sure , it 's fine . we 're gon na go") == (
        "i wasn't sure, it's fine. we're gonna go"
    )


@pytest.mark.parametrize(
    ("reference", "heard"),
    [
        ("um, i was n't gonna take it, hmm.", "I wasn't going to take it."),
        ("i wanna cut it to 50 milligrams", "I want to cut it to fifty milligrams."),
        ("her haemoglobin is fine", "Her hemoglobin is fine."),
        ("ok so that is fine", "Okay, so that is fine."),
    ],
)
def test_wer_forgives_only_fillers_spellings_and_number_forms(reference: str, heard: str) -> None:
    from eval.wer import normalise_literal, word_error_rate

    assert word_error_rate([reference], [heard]) == 0.0
    # The stricter rule still counts them, and a wrong word counts under both.
    assert word_error_rate([reference], [heard], normalise_literal) > 0.0
    wrong = heard.rsplit(" ", 1)[0] + " elbow."
    assert word_error_rate([reference], [wrong]) > 0.0


def test_primock_annotations_are_neither_spoken_nor_scored() -> None:
    from eval.wer import clean_reference

    assert clean_reference("it <UNSURE>hurts</UNSURE> <UNIN/> <INAUDIBLE_SPEECH/> here") == (
        "it hurts here"
    )


def test_audio_rescore_writes_the_workers_note_again_from_kept_transcripts(
    tmp_path: Path,
) -> None:
    from core.domain import Segment, Speaker, Transcript
    from eval.aci import Encounter
    from eval.audio_notes import Heard, keep
    from eval.audio_rescore import read_kept, rescore, role_accuracies
    from eval.role_hits import Turn
    from eval.template import EVAL_TEMPLATE
    from workers.engines.base import NoteRequest
    from workers.engines.notes.local import write_note

    said = [
        (Speaker.CLINICIAN, "What brings you in today?"),
        (Speaker.PATIENT, "My right knee hurts, I twisted it on the stairs."),
        (Speaker.CLINICIAN, "I'm going to prescribe naproxen 500 mg twice a day."),
    ]
    heard = Transcript(
        tuple(Segment(i, 3.0 * i, 3.0 * i + 2.5, t, s) for i, (s, t) in enumerate(said)),
        "en",
        "local:faster-whisper-base",
    )
    note = write_note(heard, NoteRequest(EVAL_TEMPLATE, "en")).render()
    keep(tmp_path, "D2N001", "two-voices", Heard(heard, note), [Turn(Speaker.CLINICIAN, 0, 2)])
    kept = read_kept(tmp_path)
    assert [k.visit for k in kept] == ["D2N001"]
    assert [(s.id, s.start, s.end, s.text, s.speaker) for s in kept[0].transcript.segments] == [
        (s.id, s.start, s.end, s.text, s.speaker) for s in heard.segments
    ]
    reference = "CHIEF COMPLAINT\nRight knee pain.\n\nPLAN\nNaproxen 500 mg twice a day."
    dialogue = "[doctor] what brings you in ?\n[patient] my right knee hurts ."
    figures = rescore(kept, [Encounter("D2N001", dialogue, reference)], "test1")
    # The same note the worker wrote, scored by the same scorer.
    assert figures["aci_test1_audio_rouge1"] == round(mean_rouge([reference], [note]).rouge1, 4)
    assert figures["aci_test1_audio_unsupported_facts"] == 0.0
    assert figures["aci_test1_audio_rescored_dialogues"] == 1.0
    with pytest.raises(ValueError, match="not in valid"):
        rescore(kept, [Encounter("D2N099", dialogue, reference)], "valid")
    # Role accuracy is counted again over the note engine's sentences, from the kept turns.
    # Two voices: every sentence in its own turn. One voice, kept with the last turn only:
    # every sentence is judged against the clinician, so the patient's 10 words of 25 miss.
    turns = [
        Turn(Speaker.CLINICIAN, 0.0, 2.9),
        Turn(Speaker.PATIENT, 3.0, 5.9),
        Turn(Speaker.CLINICIAN, 6.0, 9.0),
    ]
    keep(tmp_path, "D2N001", "one-voice", Heard(heard, note), turns[::-1][:1])
    keep(tmp_path, "D2N001", "two-voices", Heard(heard, note), turns)
    assert role_accuracies(tmp_path, "valid") == {
        "aci_valid_role_accuracy": 1.0,
        "aci_valid_role_accuracy_same_voice": round(15 / 25, 4),
    }
