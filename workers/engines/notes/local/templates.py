"""Which note parts each template's sections hold, and the sections' titles per language."""

from __future__ import annotations

from core.domain import Template

from .lexicon import ASSESSMENT, CC, EXAM, HPI, PLAN, RESPONSE, RESULTS, ROS

# Section key -> the note parts it gathers, in template order.
SECTIONS: dict[Template, tuple[tuple[str, tuple[str, ...]], ...]] = {
    Template.SOAP: (
        ("subjective", (CC, HPI, ROS)),
        ("objective", (EXAM, RESULTS)),
        ("assessment", (ASSESSMENT,)),
        ("plan", (PLAN, RESPONSE)),
    ),
    Template.HISTORY_AND_PHYSICAL: (
        ("chief_complaint", (CC,)),
        ("history_of_present_illness", (HPI,)),
        ("review_of_systems", (ROS,)),
        ("physical_examination", (EXAM,)),
        ("results", (RESULTS,)),
        ("assessment_and_plan", (ASSESSMENT, PLAN, RESPONSE)),
    ),
    Template.DAP: (
        ("data", (CC, HPI, ROS, EXAM, RESULTS)),
        ("assessment", (ASSESSMENT,)),
        ("plan", (PLAN, RESPONSE)),
    ),
    # Behaviour: what the client reports and shows; intervention: what the clinician found
    # and said; response: how the client took it; plan: what comes next.
    Template.BIRP: (
        ("behavior", (CC, HPI, ROS)),
        ("intervention", (EXAM, RESULTS, ASSESSMENT)),
        ("response", (RESPONSE,)),
        ("plan", (PLAN,)),
    ),
}

TITLES: dict[str, dict[str, str]] = {
    "en": {
        "subjective": "Subjective",
        "objective": "Objective",
        "assessment": "Assessment",
        "plan": "Plan",
        "chief_complaint": "Chief complaint",
        "history_of_present_illness": "History of present illness",
        "review_of_systems": "Review of systems",
        "physical_examination": "Physical examination",
        "results": "Results",
        "assessment_and_plan": "Assessment and plan",
        "data": "Data",
        "behavior": "Behavior",
        "intervention": "Intervention",
        "response": "Response",
    },
    "es": {
        "subjective": "Subjetivo",
        "objective": "Objetivo",
        "assessment": "Evaluación",
        "plan": "Plan",
        "chief_complaint": "Motivo de consulta",
        "history_of_present_illness": "Enfermedad actual",
        "review_of_systems": "Revisión por sistemas",
        "physical_examination": "Exploración física",
        "results": "Resultados",
        "assessment_and_plan": "Evaluación y plan",
        "data": "Datos",
        "behavior": "Conducta",
        "intervention": "Intervención",
        "response": "Respuesta",
    },
}


def title(key: str, language: str) -> str:
    """A section's title in the note's language (English unless it starts with "es")."""
    return TITLES["es" if language.lower().startswith("es") else "en"][key]
