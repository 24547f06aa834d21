"""Checks of caller-supplied fields, each failure naming its field (google.rpc.BadRequest)."""

from __future__ import annotations

import re

from consulta.v1 import job_pb2

from core.errors import FieldViolation, InvalidArgument
from core.settings import Settings

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Ids this service issues are UUIDs (server/jobs.py new_job_id).
_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

#: Limits of free-text fields, as the protos state them.
MAX_MIME_TYPE = 255
MAX_FILENAME = 255
MAX_PAGE_TOKEN = 512
MAX_AUDIO_URI = 2048


def _check_len(out: list[FieldViolation], field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        out.append(FieldViolation(field, f"At most {limit} characters (got {len(value)})."))


# What a cloud engine needs on the server besides being allowed, so that a refused hint says
# the whole way to enable it.
_ENGINE_NEEDS = {
    "openai": "OPENAI_API_KEY",
    "openai-diarize": "OPENAI_API_KEY",
    "groq": "GROQ_API_KEY",
    "bedrock": "AWS credentials",
}


def _needs(engine: str) -> str:
    need = _ENGINE_NEEDS.get(engine)
    return f" (a JSON list) and give the server {need}" if need else " (a JSON list)"


def _engine_not_allowed(
    field: str, kind: str, engine: str, allowed: tuple[str, ...]
) -> FieldViolation:
    return FieldViolation(
        field,
        f"Engine {engine[:64]!r} is not allowed here; allowed: {', '.join(allowed)}. The "
        f"operator can add it to CONSULTA_ALLOWED_{kind.upper()}S{_needs(engine)}.",
        reason="ENGINE_NOT_ALLOWED",
    )


def job_config_violations(
    config: job_pb2.JobConfig, settings: Settings, prefix: str
) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    enc = config.encounter
    _check_len(out, f"{prefix}.encounter.external_encounter_id", enc.external_encounter_id, 128)
    _check_len(out, f"{prefix}.encounter.patient_reference", enc.patient_reference, 128)
    _check_len(out, f"{prefix}.encounter.clinician_reference", enc.clinician_reference, 128)
    if len(enc.labels) > 16:
        out.append(FieldViolation(f"{prefix}.encounter.labels", "At most 16 labels."))
    for key, value in enc.labels.items():
        if not key or len(key) > 64 or len(value) > 64:
            out.append(
                FieldViolation(
                    f"{prefix}.encounter.labels[{key[:64]}]",
                    "Label keys must be 1-64 characters and values at most 64.",
                )
            )
    if config.language_code and not _LANGUAGE.match(config.language_code):
        out.append(
            FieldViolation(
                f"{prefix}.language_code",
                f"{config.language_code[:40]!r} is not a BCP-47 language code such as 'en' or "
                "'es-MX'.",
            )
        )
    if config.template not in job_pb2.NoteTemplate.values():
        out.append(FieldViolation(f"{prefix}.template", f"Unknown template {config.template}."))
    _check_len(out, f"{prefix}.idempotency_key", config.idempotency_key, 128)
    hints = config.engine_hints
    for kind, engine, allowed in (
        ("transcriber", hints.transcriber, settings.allowed_transcribers),
        ("summarizer", hints.summarizer, settings.allowed_summarizers),
    ):
        if engine and engine not in allowed:
            out.append(_engine_not_allowed(f"{prefix}.engine_hints.{kind}", kind, engine, allowed))
    if len(hints.vocabulary) > 100 or any(len(w) > 64 for w in hints.vocabulary):
        out.append(
            FieldViolation(
                f"{prefix}.engine_hints.vocabulary", "At most 100 words of at most 64 characters."
            )
        )
    return out


def raise_if(violations: list[FieldViolation]) -> None:
    """INVALID_ARGUMENT naming every violation; its reason is the first specific reason a
    violation carries (``ENGINE_NOT_ALLOWED``), else ``MALFORMED_FIELD``."""
    if not violations:
        return
    reason = next((v.reason for v in violations if v.reason), "MALFORMED_FIELD")
    summary = "; ".join(f"{v.field}: {v.description}" for v in violations[:3])
    raise InvalidArgument(
        f"The request has malformed fields: {summary}",
        reason=reason,
        violations=tuple(violations),
    )


def validate_job_config(config: job_pb2.JobConfig, settings: Settings, prefix: str) -> None:
    raise_if(job_config_violations(config, settings, prefix))


def sha256_violations(value: str, field: str) -> list[FieldViolation]:
    if value and not _SHA256.match(value):
        return [FieldViolation(field, "Must be 64 lowercase hex characters.")]
    return []


def length_violations(value: str, field: str, limit: int) -> list[FieldViolation]:
    """A violation when ``value`` is longer than ``limit`` characters (never echoing it)."""
    out: list[FieldViolation] = []
    _check_len(out, field, value, limit)
    return out


def require_id(value: str, field: str) -> str:
    """``value`` when it is an id this service issues (a UUID); INVALID_ARGUMENT otherwise,
    with a message that does not repeat what the caller sent."""
    if not value:
        raise InvalidArgument(
            f"{field} is required.",
            reason="MALFORMED_FIELD",
            violations=(FieldViolation(field, "Required."),),
        )
    if not _ID.match(value):
        raise InvalidArgument(
            f"{field} is not an id this service issues.",
            reason="MALFORMED_FIELD",
            violations=(FieldViolation(field, "Must be a UUID (36 characters)."),),
        )
    return value
