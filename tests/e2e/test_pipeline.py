"""The whole path: upload audio, watch it become a transcript and a note, read them back."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.audio import SAMPLE
from tests.e2e.deployment import Deployment, run_to_end

CHUNK = 1 << 20


async def upload_requests(
    data: bytes, config: pb.UploadConfig, *, chunk: int = CHUNK
) -> AsyncIterator[pb.UploadAudioRequest]:
    yield pb.UploadAudioRequest(config=config)
    for offset in range(0, len(data), chunk):
        piece = data[offset : offset + chunk]
        yield pb.UploadAudioRequest(
            chunk=pb.AudioChunk(offset=offset, data=piece, finish=offset + len(piece) >= len(data))
        )


async def upload(
    deployment: Deployment, data: bytes, config: pb.UploadConfig | None = None, user: str = "alice"
) -> tuple[job_pb2.Job, list[pb.UploadAudioResponse]]:
    responses = [
        r
        async for r in deployment.stub().UploadAudio(
            upload_requests(data, config or pb.UploadConfig()),
            metadata=deployment.auth(user),
            timeout=60,
        )
    ]
    assert responses[-1].HasField("job"), responses
    return responses[-1].job, responses


async def test_sample_becomes_transcript_and_soap_note(deployment: Deployment) -> None:
    data = SAMPLE.read_bytes()
    config = pb.UploadConfig(
        filename="consultation.mp3",
        declared_size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        job=job_pb2.JobConfig(
            language_code="en",
            template=job_pb2.NOTE_TEMPLATE_SOAP,
            encounter=job_pb2.EncounterMetadata(external_encounter_id="enc-1"),
        ),
    )
    job, responses = await upload(deployment, data, config)
    statuses = [r.status for r in responses if r.HasField("status")]
    assert statuses[0].committed_offset == 0
    assert statuses[-1].committed_offset == len(data)
    assert job.state == job_pb2.JOB_STATE_QUEUED
    assert job.audio_sha256 == hashlib.sha256(data).hexdigest()
    assert job.audio_size_bytes == len(data)
    assert 80 < job.audio_duration_seconds < 90

    stub, auth = deployment.stub(), deployment.auth()
    messages = await run_to_end(stub, job.job_id, auth)
    assert messages[0].HasField("snapshot")
    events = [m.event for m in messages[1:]]
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    kinds = [e.WhichOneof("payload") for e in events]
    assert "segment" in kinds and "progress" in kinds and "note_delta" in kinds
    assert kinds.count("note_completed") == 1
    assert events[-1].state_changed.state == job_pb2.JOB_STATE_COMPLETED

    transcript = (
        await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    ).transcript
    text = " ".join(s.text for s in transcript.segments).lower()
    assert "middle finger" in text and "fracture" in text
    assert [s.segment_id for s in transcript.segments] == list(range(len(transcript.segments)))
    assert all(s.end_seconds >= s.start_seconds for s in transcript.segments)
    assert transcript.segments[-1].end_seconds > 60

    summary = (
        await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)
    ).summary
    assert [s.key for s in summary.sections] == ["subjective", "objective", "assessment", "plan"]
    for heading in ("SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"):
        assert heading in summary.rendered_text.upper()
    streamed = "".join(e.note_delta.text for e in events if e.HasField("note_delta"))
    assert streamed == summary.rendered_text
    segment_ids = {s.segment_id for s in transcript.segments}
    cited = [i for sec in summary.sections for s in sec.sentences for i in s.evidence_segment_ids]
    assert cited and set(cited) <= segment_ids

    listed = (await stub.ListJobs(pb.ListJobsRequest(), metadata=auth)).jobs
    assert [j.job_id for j in listed] == [job.job_id]
    assert listed[0].state == job_pb2.JOB_STATE_COMPLETED
    assert listed[0].progress == 1.0
    assert listed[0].config.encounter.external_encounter_id == "enc-1"


async def test_text_transcript_note_in_spanish(deployment: Deployment) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    text = (
        "Médico: ¿Qué le trae por aquí hoy?\n"
        "Paciente: Tengo dolor de cabeza desde hace tres días y tomo ibuprofeno 400 mg.\n"
        "Médico: La presión arterial es 130/85. No tiene fiebre.\n"
        "Médico: Vamos a pedir una analítica y le veo en dos semanas.\n"
    )
    job = (await stub.CreateJob(pb.CreateJobRequest(transcript_text=text), metadata=auth)).job
    assert job.language_code == "es"
    messages = await run_to_end(stub, job.job_id, auth)
    assert messages[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
    kinds = [m.event.WhichOneof("payload") for m in messages[1:]]
    assert "segment" not in kinds  # a text job is not transcribed again
    summary = (
        await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)
    ).summary
    assert summary.language_code == "es"
    assert summary.sections[0].title == "Subjetivo"
    assert "400 mg" in summary.rendered_text
    transcript = (
        await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    ).transcript
    assert transcript.segments[0].speaker == job_pb2.SPEAKER_ROLE_CLINICIAN
    assert transcript.segments[1].speaker == job_pb2.SPEAKER_ROLE_PATIENT


async def test_two_channel_recording_labels_clinician_and_patient(deployment: Deployment) -> None:
    from tests.e2e.audio import stereo_wav_bytes

    # The sample's first turn is the doctor's (0-6 s), the second the patient's (6-10.5 s).
    job, _ = await upload(deployment, stereo_wav_bytes((0.0, 5.8), (6.0, 10.4)))
    stub, auth = deployment.stub(), deployment.auth()
    await run_to_end(stub, job.job_id, auth)
    transcript = (
        await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    ).transcript
    speakers: dict[int, str] = {}
    for segment in transcript.segments:
        speakers[segment.speaker] = speakers.get(segment.speaker, "") + segment.text.lower()
    assert "41" in speakers[job_pb2.SPEAKER_ROLE_CLINICIAN]
    assert "finger" in speakers[job_pb2.SPEAKER_ROLE_PATIENT]
    starts = [s.start_seconds for s in transcript.segments]
    assert starts == sorted(starts)
