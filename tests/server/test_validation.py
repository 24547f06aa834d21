"""Unit tests of server/validation.py: each malformed field is named once, limits hold at
their edges, and errors never echo what the caller sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from consulta.v1 import job_pb2

from core.errors import FieldViolation, InvalidArgument
from core.settings import Settings
from server.validation import (
    job_config_violations,
    length_violations,
    raise_if,
    require_id,
    sha256_violations,
    validate_job_config,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, allowed_transcribers=("local", "openai"))


def fields(config: job_pb2.JobConfig, settings: Settings) -> list[str]:
    return [v.field for v in job_config_violations(config, settings, "config")]


def test_a_config_within_every_limit_has_no_violation(settings: Settings) -> None:
    config = job_pb2.JobConfig(
        language_code="es-MX",
        template=job_pb2.NOTE_TEMPLATE_SOAP,
        idempotency_key="k" * 128,
        encounter=job_pb2.EncounterMetadata(
            patient_reference="p" * 128, labels={f"k{i}": "v" * 64 for i in range(16)}
        ),
        engine_hints=job_pb2.EngineHints(transcriber="openai", vocabulary=["w" * 64] * 100),
    )
    assert fields(config, settings) == []
    validate_job_config(config, settings, "config")  # raises nothing


def test_each_field_past_its_limit_is_named(settings: Settings) -> None:
    config = job_pb2.JobConfig(
        language_code="not a language",
        template=99,  # type: ignore[arg-type]
        idempotency_key="k" * 129,
        encounter=job_pb2.EncounterMetadata(
            external_encounter_id="e" * 129,
            patient_reference="p" * 129,
            clinician_reference="c" * 129,
            labels={f"k{i}": "v" for i in range(17)},
        ),
        engine_hints=job_pb2.EngineHints(vocabulary=["w"] * 101),
    )
    assert fields(config, settings) == [
        "config.encounter.external_encounter_id",
        "config.encounter.patient_reference",
        "config.encounter.clinician_reference",
        "config.encounter.labels",
        "config.language_code",
        "config.template",
        "config.idempotency_key",
        "config.engine_hints.vocabulary",
    ]


def test_label_keys_and_values_are_bounded(settings: Settings) -> None:
    config = job_pb2.JobConfig(
        encounter=job_pb2.EncounterMetadata(labels={"": "v", "ok": "v" * 65, "k" * 65: "v"})
    )
    assert sorted(fields(config, settings)) == [
        "config.encounter.labels[]",
        "config.encounter.labels[k" + "k" * 63 + "]",
        "config.encounter.labels[ok]",
    ]


def test_an_engine_hint_outside_the_allowed_list_is_engine_not_allowed(
    settings: Settings,
) -> None:
    config = job_pb2.JobConfig(engine_hints=job_pb2.EngineHints(summarizer="groq"))
    with pytest.raises(InvalidArgument) as caught:
        validate_job_config(config, settings, "config")
    assert caught.value.reason == "ENGINE_NOT_ALLOWED"
    assert [v.field for v in caught.value.violations] == ["config.engine_hints.summarizer"]


def test_the_reason_comes_from_the_violation_not_its_wording(settings: Settings) -> None:
    config = job_pb2.JobConfig(
        language_code="1", engine_hints=job_pb2.EngineHints(transcriber="groq")
    )
    violations = job_config_violations(config, settings, "config")
    assert [v.reason for v in violations] == ["", "ENGINE_NOT_ALLOWED"]
    # Mixed with another violation, listed after it: still ENGINE_NOT_ALLOWED.
    with pytest.raises(InvalidArgument) as caught:
        raise_if(violations)
    assert caught.value.reason == "ENGINE_NOT_ALLOWED"
    # A message that merely says "not allowed" about an engine hint is no reason by itself.
    worded = FieldViolation("config.engine_hints.summarizer", "Engine 'x' is not allowed here.")
    with pytest.raises(InvalidArgument) as caught:
        raise_if([worded])
    assert caught.value.reason == "MALFORMED_FIELD"


def test_other_violations_are_malformed_field(settings: Settings) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_job_config(job_pb2.JobConfig(language_code="1"), settings, "job")
    assert caught.value.reason == "MALFORMED_FIELD"
    assert [v.field for v in caught.value.violations] == ["job.language_code"]


def test_sha256_must_be_lowercase_hex() -> None:
    assert sha256_violations("", "sha256") == []
    assert sha256_violations("a" * 64, "sha256") == []
    assert [v.field for v in sha256_violations("A" * 64, "sha256")] == ["sha256"]
    assert [v.field for v in sha256_violations("a" * 63, "sha256")] == ["sha256"]


def test_length_violations_never_echo_the_value() -> None:
    assert length_violations("x" * 10, "filename", 10) == []
    [violation] = length_violations("secret" * 5, "filename", 10)
    assert violation.field == "filename"
    assert "secret" not in violation.description


def test_require_id_takes_uuids_only_and_does_not_repeat_input() -> None:
    job_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert require_id(job_id, "job_id") == job_id
    with pytest.raises(InvalidArgument) as missing:
        require_id("", "job_id")
    assert [v.description for v in missing.value.violations] == ["Required."]
    with pytest.raises(InvalidArgument) as wrong:
        require_id("patient-jane-doe", "job_id")
    assert "jane" not in wrong.value.message
    assert wrong.value.reason == "MALFORMED_FIELD"
