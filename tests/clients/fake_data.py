"""What the client tests' fake service holds and answers with: the scripted transcript and
note, the stored uploads and jobs, and google.rpc error details as real servers send them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import message as pb_message
from google.rpc import error_details_pb2, status_pb2

SECRET = "test-secret-for-the-client-tests"
SERVICE_NAME = "consulta.v1.TranscriptionService"
Context = grpc.aio.ServicerContext[Any, Any]

SEGMENTS = (
    job_pb2.TranscriptSegment(
        segment_id=0,
        start_seconds=0.0,
        end_seconds=2.5,
        speaker=job_pb2.SPEAKER_ROLE_CLINICIAN,
        text="What brings you in today?",
    ),
    job_pb2.TranscriptSegment(
        segment_id=1,
        start_seconds=2.5,
        end_seconds=6.0,
        speaker=job_pb2.SPEAKER_ROLE_PATIENT,
        text="I have had a headache for three days.",
    ),
)
NOTE_TEXT = "Subjective\nHeadache for three days.\nPlan\nIbuprofen as needed.\n"


def summary_for(template: job_pb2.NoteTemplate.ValueType, language: str) -> job_pb2.Summary:
    return job_pb2.Summary(
        template=template or job_pb2.NOTE_TEMPLATE_SOAP,
        language_code=language or "en",
        sections=[
            job_pb2.NoteSection(
                key="subjective",
                title="Subjective",
                sentences=[
                    job_pb2.NoteSentence(text="Headache for three days.", evidence_segment_ids=[1])
                ],
            ),
            job_pb2.NoteSection(
                key="plan",
                title="Plan",
                sentences=[job_pb2.NoteSentence(text="Ibuprofen as needed.")],
            ),
        ],
        rendered_text=NOTE_TEXT,
        engine="fake:scripted",
    )


def rich_status(
    code: grpc.StatusCode, message: str, details: list[pb_message.Message]
) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata carrying a google.rpc.Status with ``details``, as servers send it."""
    status = status_pb2.Status(code=code.value[0], message=message)
    for detail in details:
        status.details.add().Pack(detail)
    return (("grpc-status-details-bin", status.SerializeToString()),)


def bad_request(*violations: tuple[str, str]) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
            for f, d in violations
        ]
    )


def error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain="consulta.v1", metadata=metadata)


def retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    info = error_details_pb2.RetryInfo()
    info.retry_delay.FromMilliseconds(int(seconds * 1000))
    return info


@dataclass
class Injected:
    """An error the next call of a method fails with."""

    code: grpc.StatusCode
    message: str
    details: list[pb_message.Message] = field(default_factory=list)


@dataclass
class Upload:
    upload_id: str
    config: pb.UploadConfig
    owner: str
    data: bytearray = field(default_factory=bytearray)
    job_id: str = ""
    # A live upload has its job from the start; this says its `finish` came.
    finished: bool = False

    @property
    def complete(self) -> bool:
        return self.finished if self.config.live else bool(self.job_id)


@dataclass
class StoredJob:
    job: job_pb2.Job
    owner: str
    events: list[pb.JobEvent] = field(default_factory=list)
    transcript: job_pb2.Transcript | None = None
    summary: job_pb2.Summary | None = None


def script_batch_job(stored: StoredJob, *, transcribe: bool, fail: bool) -> None:
    """The events a worker would publish, and the job as they leave it."""
    payloads: list[dict[str, Any]] = [
        {"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_QUEUED)}
    ]
    if transcribe:
        payloads.append({"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_TRANSCRIBING)})
        payloads.append(
            {"progress": pb.TranscriptionProgress(processed_seconds=3, total_seconds=6)}
        )
        payloads.extend({"segment": s} for s in SEGMENTS)
    if fail:
        payloads.append(
            {
                "state_changed": pb.StateChanged(
                    state=job_pb2.JOB_STATE_FAILED, reason="The audio could not be decoded."
                )
            }
        )
    else:
        summary = summary_for(stored.job.config.template, stored.job.config.language_code)
        payloads.append({"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_SUMMARIZING)})
        payloads.append({"note_delta": pb.NoteDelta(section_key="subjective", text=NOTE_TEXT[:30])})
        payloads.append({"note_delta": pb.NoteDelta(section_key="plan", text=NOTE_TEXT[30:])})
        payloads.append({"note_completed": summary})
        payloads.append({"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_COMPLETED)})
        stored.summary = summary
        stored.transcript = job_pb2.Transcript(
            segments=SEGMENTS if transcribe else (), language_code="en", engine="fake"
        )
    stored.events = [pb.JobEvent(sequence=i, **p) for i, p in enumerate(payloads, start=1)]
