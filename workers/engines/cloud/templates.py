"""Note templates of the cloud note engines: sections, headings in the note's language, and
what each section holds (told to the model).

Built-in templates follow common clinical formats; ``custom_templates`` in the settings
replace a built-in's sections or add templates by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.engines.cloud.settings import ProviderSettings


@dataclass(frozen=True, slots=True)
class Section:
    """A section to write: its key, its heading, and what goes in it."""

    key: str
    title: str
    instruction: str


# key -> (English title, Spanish title, what the section holds)
_CATALOGUE: dict[str, tuple[str, str, str]] = {
    "subjective": (
        "Subjective",
        "Subjetivo",
        "what the patient reports: complaint, history, symptoms",
    ),
    "objective": ("Objective", "Objetivo", "findings: vital signs, examination, test results"),
    "assessment": ("Assessment", "Evaluación", "the clinician's impression and diagnoses"),
    "plan": ("Plan", "Plan", "treatment, prescriptions, tests ordered, follow-up"),
    "chief_complaint": ("Chief complaint", "Motivo de consulta", "why the patient came"),
    "history_of_present_illness": (
        "History of present illness",
        "Enfermedad actual",
        "onset, course and character of the current problem",
    ),
    "past_medical_history": (
        "Past medical history",
        "Antecedentes personales",
        "past illnesses, surgeries, family and social history",
    ),
    "medications": ("Medications", "Medicación", "current medicines and doses"),
    "allergies": ("Allergies", "Alergias", "allergies and reactions"),
    "review_of_systems": ("Review of systems", "Revisión por sistemas", "symptoms by system"),
    "physical_exam": ("Physical exam", "Exploración física", "examination findings"),
    "data": ("Data", "Datos", "what was said and observed in the session"),
    "behavior": ("Behavior", "Conducta", "the patient's behaviour and presentation"),
    "intervention": ("Intervention", "Intervención", "what the clinician did"),
    "response": ("Response", "Respuesta", "how the patient responded"),
}

_BUILT_IN: dict[str, tuple[str, ...]] = {
    "soap": ("subjective", "objective", "assessment", "plan"),
    "history_and_physical": (
        "chief_complaint",
        "history_of_present_illness",
        "past_medical_history",
        "medications",
        "allergies",
        "review_of_systems",
        "physical_exam",
        "assessment",
        "plan",
    ),
    "dap": ("data", "assessment", "plan"),
    "birp": ("behavior", "intervention", "response", "plan"),
}


def sections_for(template: str, language: str, settings: ProviderSettings) -> tuple[Section, ...]:
    """The sections of ``template`` (a Template value or a custom name) in ``language``.

    ValueError for a name that is neither built in nor configured.
    """
    custom = settings.custom_templates.get(template)
    if custom:
        return tuple(Section(s.key, s.title, s.instruction) for s in custom)
    keys = _BUILT_IN.get(template)
    if keys is None:
        raise ValueError(f"unknown note template {template!r}")
    spanish = language.lower().startswith("es")
    return tuple(
        Section(key, _CATALOGUE[key][1 if spanish else 0], _CATALOGUE[key][2]) for key in keys
    )


_LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "ca": "Catalan",
}


def language_name(code: str) -> str:
    """A language's English name for the prompt ("es" -> "Spanish")."""
    base = code.split("-")[0].lower()
    return _LANGUAGES.get(base, f"the language with code {code!r}")
