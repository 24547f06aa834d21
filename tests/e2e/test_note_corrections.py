"""A misheard drug name corrected in the note is marked on its sentence, through the product
(issue 11, item 4): stored, read back by GetSummary, the transcript left as heard."""

from __future__ import annotations

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.deployment import Deployment, run_to_end

DIALOGUE = (
    "Patient: I have had headaches for two weeks and my blood pressure is high at home.\n"
    "Doctor: I'm going to prescribe lisinipril ten milligrams once a day.\n"
    "Doctor: We will see you again in four weeks.\n"
)


async def test_a_corrected_drug_name_is_marked_in_the_stored_note(deployment: Deployment) -> None:
    stub = deployment.stub()
    auth = deployment.auth("alice")
    job = (
        await stub.CreateJob(
            pb.CreateJobRequest(
                transcript_text=DIALOGUE,
                config=job_pb2.JobConfig(template=job_pb2.NOTE_TEMPLATE_SOAP),
            ),
            metadata=auth,
        )
    ).job
    await run_to_end(stub, job.job_id, auth)
    summary = (
        await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)
    ).summary
    corrected = [s for sec in summary.sections for s in sec.sentences if s.corrections]
    assert len(corrected) == 1
    sentence = corrected[0]
    assert "lisinopril 10 mg once a day" in sentence.text
    assert [(c.heard, c.written, c.source) for c in sentence.corrections] == [
        ("lisinipril", "lisinopril", "drug_lexicon")
    ]
    assert "lisinipril" not in summary.rendered_text
    transcript = (
        await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    ).transcript
    assert "lisinipril" in " ".join(s.text for s in transcript.segments)
