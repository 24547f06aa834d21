"""Job resources: ownership, listing, idempotency, cancel, delete and WatchJob resume."""

from __future__ import annotations

from collections.abc import Awaitable

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.rpc_errors import failure
from tests.e2e.test_pipeline import upload

DIALOGUE = (
    "[doctor] what brings you in today?\n"
    "[patient] i have had chest pain for two days and i take lisinopril 10 mg daily.\n"
    "[doctor] your blood pressure is 150/90. i think this is musculoskeletal.\n"
    "[doctor] we will get an ecg and see you in one week.\n"
)


async def text_job(deployment: Deployment, user: str = "alice", **config: object) -> job_pb2.Job:
    response = await deployment.stub().CreateJob(
        pb.CreateJobRequest(transcript_text=DIALOGUE, config=job_pb2.JobConfig(**config)),  # type: ignore[arg-type]
        metadata=deployment.auth(user),
    )
    return response.job


async def test_someone_elses_job_is_not_found(deployment: Deployment) -> None:
    job = await text_job(deployment, "alice")
    stub = deployment.stub()
    await run_to_end(stub, job.job_id, deployment.auth("alice"))
    bob = deployment.auth("bob")
    calls: list[Awaitable[object]] = [
        stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=bob),
        stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=bob),
        stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=bob),
        stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), metadata=bob),
        stub.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=bob),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_to_end(stub, job.job_id, bob)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await stub.ListJobs(pb.ListJobsRequest(), metadata=bob)).jobs == []
    # Same tenant's service role sees it; another tenant's does not.
    service = deployment.auth("ehr-bridge", roles=("service",))
    got = await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=service)
    assert got.job.job_id == job.job_id
    other = deployment.auth("ehr-bridge", tenant="clinic-b", roles=("service",))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=other)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    # Alice's own job is still whole.
    done = await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=deployment.auth())
    assert done.job.state == job_pb2.JOB_STATE_COMPLETED


async def test_list_is_newest_first_paged_and_filtered(deployment: Deployment) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    created = [await text_job(deployment) for _ in range(5)]
    for job in created:
        await run_to_end(stub, job.job_id, auth)
    cancelled = await text_job(deployment)
    await stub.CancelJob(pb.CancelJobRequest(job_id=cancelled.job_id), metadata=auth)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=token), metadata=auth)
        seen += [j.job_id for j in page.jobs]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    expected = [j.job_id for j in reversed([*created, cancelled])]
    assert seen == expected and pages == 3
    only = await stub.ListJobs(
        pb.ListJobsRequest(states=[job_pb2.JOB_STATE_CANCELLED]), metadata=auth
    )
    assert [j.job_id for j in only.jobs] == [cancelled.job_id]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListJobs(pb.ListJobsRequest(page_size=1000), metadata=auth)
    assert failure(caught.value).fields == ["page_size"]


async def test_idempotency_key_returns_the_first_job(deployment: Deployment) -> None:
    first = await text_job(deployment, idempotency_key="visit-42")
    second = await text_job(deployment, idempotency_key="visit-42")
    assert first.job_id == second.job_id
    job, _ = await upload(
        deployment,
        wav_bytes(seconds=2),
        pb.UploadConfig(job=job_pb2.JobConfig(idempotency_key="visit-42")),
    )
    assert job.job_id == first.job_id
    listed = await deployment.stub().ListJobs(pb.ListJobsRequest(), metadata=deployment.auth())
    assert len(listed.jobs) == 1
    # Another user's same key is another job.
    assert (await text_job(deployment, "bob", idempotency_key="visit-42")).job_id != first.job_id


async def test_watch_resumes_after_a_sequence_without_gap_or_repeat(
    deployment: Deployment,
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    job = await text_job(deployment)
    everything = await run_to_end(stub, job.job_id, auth)
    sequences = [m.event.sequence for m in everything[1:]]
    assert sequences == list(range(1, len(sequences) + 1))
    cut = len(sequences) // 2
    resumed = await run_to_end(stub, job.job_id, auth, after=cut)
    assert resumed[0].HasField("snapshot")
    assert resumed[0].snapshot.last_event_sequence == sequences[-1]
    assert [m.event.sequence for m in resumed[1:]] == sequences[cut:]
    assert [m.event for m in resumed[1:]] == [m.event for m in everything[1 + cut :]]
    # A client that has seen everything gets the snapshot and the stream ends.
    caught_up = await run_to_end(stub, job.job_id, auth, after=sequences[-1])
    assert len(caught_up) == 1 and caught_up[0].HasField("snapshot")


async def test_cancel_stops_a_running_job(deployment: Deployment) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    job, _ = await upload(deployment, wav_bytes())  # the whole 84 s sample: seconds of work
    watch = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth, timeout=60)
    async for message in watch:
        if message.event.state_changed.state == job_pb2.JOB_STATE_TRANSCRIBING:
            break
    cancelled = await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), metadata=auth)
    assert cancelled.job.state == job_pb2.JOB_STATE_CANCELLED
    rest = [m async for m in watch]
    assert rest[-1].event.state_changed.state == job_pb2.JOB_STATE_CANCELLED
    assert rest[-1].event.state_changed.reason
    # The worker stops: no note ever appears, and the state stays CANCELLED.
    final = await run_to_end(stub, job.job_id, auth)
    kinds = [m.event.WhichOneof("payload") for m in final[1:]]
    assert "note_completed" not in kinds
    again = await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), metadata=auth)
    assert again.job.state == job_pb2.JOB_STATE_CANCELLED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_delete_erases_audio_and_texts(deployment: Deployment) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    job, _ = await upload(deployment, wav_bytes(seconds=4))
    await run_to_end(stub, job.job_id, auth)
    row = await deployment.server.runtime.store.get(job.job_id)
    assert row is not None and row.audio_key
    assert await deployment.server.runtime.blobs.size(row.audio_key) > 0
    await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=auth)
    for call in (
        stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth),
        stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth),
        stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    from core.errors import NotFound

    with pytest.raises(NotFound):
        await deployment.server.runtime.blobs.size(row.audio_key)
    assert await deployment.server.runtime.store.events_after(job.job_id, 0) == []
    assert await deployment.server.runtime.store.transcript(job.job_id) is None


async def test_inline_audio_job(deployment: Deployment) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    job = (
        await stub.CreateJob(pb.CreateJobRequest(audio_content=wav_bytes(seconds=6)), metadata=auth)
    ).job
    final = await run_to_end(stub, job.job_id, auth)
    assert final[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
    transcript = await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    heard = " ".join(s.text for s in transcript.transcript.segments).lower().replace("-", " ")
    assert "41 year old" in heard  # or "41-year-old": the beam search writes either
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateJob(pb.CreateJobRequest(audio_content=b"x" * 100), metadata=auth)
    assert failure(caught.value).reason == "UNSUPPORTED_AUDIO"
