"""The chief complaint names what the patient came for: never a pronoun, a time or a greeting,
in English and in Spanish."""

from __future__ import annotations

import pytest

from .writing import note_of, section_of


@pytest.mark.parametrize(
    ("said", "complaint"),
    [
        # A verb before the symptom is not part of it.
        ("Patient: I also have pain when I swallow, down in my chest.", "Pain."),
        # A greeting is no part of it.
        (
            "Patient: Hi, I just feel out of sorts lately.",
            "The patient just feels out of sorts lately.",
        ),
        # A hyphenated word is one word.
        ("Patient: I have had a low-grade fever since Monday.", "Low-grade fever."),
        # A pronoun is no reason for a visit: the symptom named later is.
        (
            "Doctor: I know you were seen for it last year.\n"
            "Patient: Yes, and now my left knee pain is back.",
            "Left knee pain.",
        ),
        # Where it hurts is part of it.
        (
            "Patient: I'm having a lot of pain at the end of my right middle finger.",
            "Right middle finger pain.",
        ),
        ("Patient: I've had this pain in my lower back for a week.", "Lower back pain."),
        ("Patient: There's some swelling in my left ankle.", "Left ankle swelling."),
        ("Patient: I have pain on the right side of my abdomen.", "Right abdomen pain."),
        ("Patient: There is pain over the left side of the chest.", "Left chest pain."),
        # A denied symptom is no complaint; the one said after it is.
        ("Patient: I have no pain in my chest, just a cough.", "Cough."),
    ],
)
def test_the_chief_complaint_names_something(said: str, complaint: str) -> None:
    note = note_of(f"Doctor: Good morning, how are you doing?\n{said}\nDoctor: Let's take a look.")
    assert section_of(note, "chief_complaint") == complaint


def test_a_spanish_pronoun_or_time_is_no_reason_for_a_visit_either() -> None:
    said = (
        "Médico: Buenos días, ¿cómo está?\n"
        "Médico: Usted viene por esto de la semana pasada, ¿verdad?\n"
        "Paciente: Sí, y ahora tengo dolor de rodilla izquierda.\n"
        "Médico: Vamos a ver."
    )
    assert section_of(note_of(said, lang="es"), "chief_complaint") == "Dolor de rodilla izquierda."


@pytest.mark.parametrize(
    ("said", "complaint"),
    [
        ("Paciente: Me duele la rodilla derecha desde el lunes.", "Dolor de rodilla derecha."),
        ("Paciente: Me duelen los pies.", "Dolor de pies."),
        ("Paciente: Tengo dolor en el hombro izquierdo.", "Dolor en el hombro izquierdo."),
        ("Paciente: Tengo dolor de cadera del lado derecho.", "Dolor de cadera del lado derecho."),
        # "desde" names no part of the body: no "Dolor de desde."
        (
            "Paciente: Me duele desde hace cuatro días y no puedo dormir.",
            "Le duele desde hace 4 días y no puede dormir.",
        ),
        ("Paciente: Me falta el aire cuando subo escaleras.", "Falta de aire."),
        ("Paciente: Me arde al orinar desde hace dos días.", "Ardor al orinar."),
        ("Paciente: Tengo ardor en el estómago después de comer.", "Ardor en el estómago."),
        ("Paciente: Tengo la pierna izquierda hinchada.", "Hinchazón de pierna izquierda."),
        ("Paciente: Me sangran las encías al cepillarme.", "Sangrado de encías."),
        ("Paciente: Estoy muy cansada desde hace dos meses.", "Cansancio."),
        # "mi" is no part of a note's complaint, nor is a number or an article.
        ("Paciente: Tengo dolor en mi rodilla izquierda.", "Dolor en rodilla izquierda."),
        ("Paciente: Me duele mi rodilla.", "Dolor de rodilla."),
        ("Paciente: Me duelen las dos rodillas.", "Le duelen las 2 rodillas."),
        # A denied symptom is no complaint.
        ("Paciente: No tengo mucha sed.\nPaciente: Me duele la cabeza.", "Dolor de cabeza."),
        ("Paciente: No me falta el aire, pero toso.", "No le falta el aire, pero tose."),
        # No side said, none written: the side is never guessed.
        ("Paciente: Tengo dolor de cabeza todas las noches.", "Dolor de cabeza."),
    ],
)
def test_a_spanish_complaint_keeps_the_side_that_was_said(said: str, complaint: str) -> None:
    note = note_of(
        f"Médico: Buenos días, ¿qué le trae por aquí?\n{said}\nMédico: Vamos a ver.", lang="es"
    )
    assert section_of(note, "chief_complaint") == complaint
