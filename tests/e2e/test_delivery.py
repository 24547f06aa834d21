"""Nothing lost, nothing done twice: duplicate messages, lost publishes, dead workers and
engine failures all end in exactly one outcome per job."""

from __future__ import annotations

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.rpc import code_pb2

from core.codec import state_event
from core.domain import JobState
from core.language import guess_language
from core.settings import Settings
from core.transcript_text import parse_transcript_text
from tests.e2e.deployment import Deployment, run_to_end, start_deployment
from tests.e2e.test_jobs import DIALOGUE, text_job
from tests.support import eventually
from tests.support.jobs import new_job_row


def kinds(messages: list[pb.WatchJobResponse]) -> list[str]:
    return [str(m.event.WhichOneof("payload")) for m in messages[1:]]


async def unpublished_text_job(deployment: Deployment, owner: str = "alice") -> str:
    """A QUEUED job recorded in the database whose queue message was lost."""
    transcript = parse_transcript_text(DIALOGUE, language=guess_language(DIALOGUE))
    row = new_job_row(owner)
    await deployment.server.runtime.store.create_job(row, state_event(JobState.QUEUED), transcript)
    return row.id


async def test_a_message_delivered_many_times_makes_one_note(deployment: Deployment) -> None:
    job = await text_job(deployment)
    for _ in range(4):
        await deployment.server.runtime.queue.publish(job.job_id)
    stub, auth = deployment.stub(), deployment.auth()
    messages = await run_to_end(stub, job.job_id, auth)
    assert kinds(messages).count("note_completed") == 1

    async def settled() -> bool:
        return await deployment.server.runtime.queue.depth() == 0

    await eventually(settled, within=10, what="duplicate messages consumed")
    log = await deployment.server.runtime.store.events_after(job.job_id, 0)
    assert [r.seq for r in log] == list(range(1, len(log) + 1))
    completed = [r for r in log if pb.JobEvent.FromString(r.payload).HasField("note_completed")]
    assert len(completed) == 1


async def test_a_lost_publish_is_swept_up(deployment: Deployment) -> None:
    job_id = await unpublished_text_job(deployment)
    messages = await run_to_end(deployment.stub(), job_id, deployment.auth())
    assert messages[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED


async def test_a_dead_workers_job_is_taken_over(deployment: Deployment) -> None:
    job_id = await unpublished_text_job(deployment)
    store = deployment.server.runtime.store
    # A worker claims it, reports progress, and dies without a word (lease of 1 s).
    claimed = await store.claim(job_id, "dead-worker", lease_seconds=1)
    assert claimed is not None
    recorded = await store.record(
        job_id,
        "dead-worker",
        [state_event(JobState.SUMMARIZING)],
        lease_seconds=1,
        state=JobState.SUMMARIZING,
    )
    assert recorded is not None
    messages = await run_to_end(deployment.stub(), job_id, deployment.auth())
    assert messages[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
    assert kinds(messages).count("note_completed") == 1
    row = await store.get(job_id)
    assert row is not None and row.attempts == 2
    # The dead worker's late writes are refused.
    late = await store.record(job_id, "dead-worker", [], lease_seconds=1)
    assert late is None


async def test_an_engine_failure_ends_failed_with_a_reason(kind: str, settings: Settings) -> None:
    allowed = settings.model_copy(update={"allowed_summarizers": ("local", "retired-engine")})
    deployment = await start_deployment(kind, allowed)
    try:
        stub, auth = deployment.stub(), deployment.auth()
        job = (
            await stub.CreateJob(
                pb.CreateJobRequest(
                    transcript_text=DIALOGUE,
                    config=job_pb2.JobConfig(
                        engine_hints=job_pb2.EngineHints(summarizer="retired-engine")
                    ),
                ),
                metadata=auth,
            )
        ).job
        messages = await run_to_end(stub, job.job_id, auth)
        last = messages[-1].event.state_changed
        assert last.state == job_pb2.JOB_STATE_FAILED
        assert "retired-engine" in last.reason
        got = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)).job
        assert got.error.message == last.reason
        assert got.error.code == code_pb2.INTERNAL
    finally:
        await deployment.stop()


async def test_a_worker_process_serves_health_and_metrics(settings: Settings) -> None:
    import aiohttp

    from workers.app import start_worker

    worker = await start_worker(
        settings.model_copy(update={"worker_http_listen": "127.0.0.1:0", "run_worker": False})
    )
    base = f"http://127.0.0.1:{worker.http_port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200
            async with http.get(f"{base}/metrics") as response:
                text = await response.text()
            assert "consulta_sweeper_republished_total" in text
            worker.consuming = False
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 503
    finally:
        await worker.stop()
