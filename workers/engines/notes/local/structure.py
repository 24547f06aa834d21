"""Clinical sub-structure inside sections: organ systems and kinds of plan item.

A review of systems reads "Cardiovascular: Denies chest pain."; an examination finding is
filed under its system; a plan item says what kind it is ("Medical treatment: ...").
The word tables below decide; a sentence that matches none keeps no label.
"""

from __future__ import annotations

import re
from functools import cache

# System label per language, then the word starts that name it. Order matters: the first
# system whose words occur wins ("chest pain" is cardiovascular before "pain" is anything).
SYSTEMS: tuple[tuple[dict[str, str], tuple[str, ...]], ...] = (
    (
        {"en": "Constitutional", "es": "General"},
        (
            "fever",
            "chill",
            "weight",
            "fatigue",
            "tired",
            "night sweat",
            "appetite",
            "fiebre",
            "escalofr",
            "peso",
            "cansancio",
            "apetito",
        ),
    ),
    (
        {"en": "Cardiovascular", "es": "Cardiovascular"},
        (
            "chest pain",
            "palpitat",
            "swelling in her legs",
            "swelling in his legs",
            "swelling in the legs",
            "leg swelling",
            "edema",
            "murmur",
            "heart",
            "pulse",
            "dolor de pecho",
            "dolor en el pecho",
            "palpitaci",
            "soplo",
            "corazón",
        ),
    ),
    (
        {"en": "Respiratory", "es": "Respiratorio"},
        (
            "shortness of breath",
            "short of breath",
            "breath",
            "cough",
            "wheez",
            "lung",
            "rales",
            "rhonchi",
            "falta de aire",
            "tos",
            "pulmon",
            "sibilan",
        ),
    ),
    (
        {"en": "Gastrointestinal", "es": "Digestivo"},
        (
            "nause",
            "vomit",
            "diarrh",
            "constipat",
            "abdom",
            "belly",
            "stomach",
            "bloat",
            "blood in",
            "stool",
            "bowel",
            "reflux",
            "heartburn",
            "náusea",
            "vómito",
            "diarrea",
            "estreñ",
            "abdomen",
            "barriga",
            "estómago",
        ),
    ),
    (
        {"en": "Genitourinary", "es": "Genitourinario"},
        ("urin", "bladder", "kidney", "burning", "orina", "riñón"),
    ),
    (
        {"en": "Musculoskeletal", "es": "Musculoesquelético"},
        (
            "knee",
            "shoulder",
            "back",
            "hip",
            "ankle",
            "wrist",
            "elbow",
            "joint",
            "muscle",
            "range of motion",
            "effusion",
            "tender",
            "rodilla",
            "hombro",
            "espalda",
            "cadera",
            "tobillo",
            "muñeca",
            "articula",
            "músculo",
        ),
    ),
    (
        {"en": "Neurological", "es": "Neurológico"},
        (
            "headache",
            "dizz",
            "numb",
            "tingl",
            "weak",
            "reflex",
            "sensation",
            "strength",
            "seizure",
            "faint",
            "dolor de cabeza",
            "cefalea",
            "mareo",
            "hormigue",
            "entumec",
            "debilidad",
            "reflejo",
        ),
    ),
    (
        {"en": "Psychiatric", "es": "Psiquiátrico"},
        (
            "depress",
            "anxi",
            "mood",
            "harm",
            "suicid",
            "sleep",
            "stress",
            "depresi",
            "ansie",
            "ánimo",
            "sueño",
            "estrés",
        ),
    ),
    (
        {"en": "Skin", "es": "Piel"},
        (
            "rash",
            "skin",
            "itch",
            "lesion",
            "bruis",
            "erythema",
            "wound",
            "erupci",
            "piel",
            "picor",
            "herida",
        ),
    ),
    (
        {"en": "Ears, nose, mouth and throat", "es": "Otorrinolaringología"},
        (
            "congest",
            "sore throat",
            "throat",
            "ear",
            "nose",
            "sinus",
            "garganta",
            "oído",
            "nariz",
            "congesti",
        ),
    ),
    (
        {"en": "Eyes", "es": "Ojos"},
        ("vision", "eye", "visión", "ojo"),
    ),
)

VITALS = {"en": "Vitals", "es": "Constantes vitales"}
_VITAL_WORDS = (
    "blood pressure",
    "heart rate",
    "temperature",
    "oxygen",
    "saturation",
    "respiratory rate",
    "presión arterial",
    "tensión arterial",
    "frecuencia",
    "temperatura",
    "saturación",
)

# Kinds of plan item and the word starts that show them, first match wins.
PLAN_KINDS: tuple[tuple[dict[str, str], tuple[str, ...]], ...] = (
    (
        {"en": "Additional testing", "es": "Pruebas complementarias"},
        (
            "order",
            "x-ray",
            "xray",
            "mri",
            "ct scan",
            "cat scan",
            "ultrasound",
            "echocardiogram",
            "lab",
            "blood work",
            "bloodwork",
            "test",
            "biopsy",
            "emg",
            "ekg",
            "study",
            "radiografía",
            "resonancia",
            "análisis",
            "analítica",
            "ecografía",
            "prueba",
        ),
    ),
    (
        {"en": "Medical treatment", "es": "Tratamiento"},
        (
            "mg",
            "milligram",
            "prescri",
            "medication",
            "medicine",
            "dose",
            "tablet",
            "pill",
            "injection",
            "shot",
            "refill",
            "increase",
            "decrease",
            "start",
            "continue",
            "stop",
            "splint",
            "brace",
            "surgery",
            "procedure",
            "therapy",
            "inhaler",
            "cream",
            "miligramo",
            "receta",
            "medicamento",
            "dosis",
            "comprimido",
            "pastilla",
            "inyecci",
            "aumentar",
            "suspender",
            "continuar",
            "tome",
            "tomar",
            "indicar",
            "ibuprofeno",
            "paracetamol",
        ),
    ),
    (
        {"en": "Referrals", "es": "Derivaciones"},
        ("refer", "specialist", "derivar", "especialista"),
    ),
    (
        {"en": "Follow-up", "es": "Seguimiento"},
        (
            "follow up",
            "follow-up",
            "come back",
            "see you back",
            "see you in",
            "return",
            "control",
            "volver",
            "revisión",
        ),
    ),
    (
        {"en": "Patient education and counseling", "es": "Educación y consejo"},
        (
            "recommend",
            "advise",
            "encourage",
            "diet",
            "exercise",
            "avoid",
            "should",
            "want you",
            "make sure",
            "try to",
            "ice",
            "rest",
            "elevat",
            "recomiendo",
            "aconsej",
            "dieta",
            "ejercicio",
            "evitar",
            "debe",
            "reposo",
            "hielo",
        ),
    ),
)


@cache
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{names})", re.IGNORECASE)


def _language(language: str) -> str:
    return "es" if language.lower().startswith("es") else "en"


def system_of(text: str, language: str, *, exam: bool = False) -> str | None:
    """The organ system a finding belongs to, in the note's language; None when unclear.

    In an examination, measured vitals come first so "blood pressure is 132/84" is a vital.
    """
    lang = _language(language)
    if exam and _pattern(_VITAL_WORDS).search(text):
        return VITALS[lang]
    for labels, words in SYSTEMS:
        if _pattern(words).search(text):
            return labels[lang]
    return None


def plan_kind(text: str, language: str) -> str | None:
    """What kind of plan item a sentence is ("Medical treatment"), or None."""
    lang = _language(language)
    for labels, words in PLAN_KINDS:
        if _pattern(words).search(text):
            return labels[lang]
    return None
