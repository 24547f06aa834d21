"""Unary calls: jobs, pages, transcripts, notes, cancel, delete and health."""

from __future__ import annotations

from consulta.v1 import job_pb2

from clients.client import SERVICE_NAME, ConsultaClient
from clients.errors import NotFound
from tests.clients.fake_consulta import SEGMENTS, FakeConsulta
from tests.clients.fake_server_thread import ServerThread


async def test_list_jobs_walks_every_page_newest_first(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    async with ConsultaClient(server.target, token=token) as client:
        made = [(await client.create_job(transcript_text=f"Doctor: {i}")).job_id for i in range(5)]
        listed = [job.job_id async for job in client.list_jobs(page_size=2)]
        limited = [job.job_id async for job in client.list_jobs(page_size=2, limit=3)]
        completed = [
            job.job_id
            async for job in client.list_jobs(states=[job_pb2.JOB_STATE_COMPLETED], page_size=100)
        ]
        failed = [job.job_id async for job in client.list_jobs(states=[job_pb2.JOB_STATE_FAILED])]

    assert listed == made[::-1]
    assert limited == made[::-1][:3]
    assert completed == made[::-1]
    assert failed == []


async def test_transcript_summary_cancel_and_delete(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    async with ConsultaClient(server.target, token=token) as client:
        job = await client.create_job(
            job_pb2.JobConfig(template=job_pb2.NOTE_TEMPLATE_DAP), transcript_text="Doctor: hi"
        )
        fake.jobs[job.job_id].transcript = job_pb2.Transcript(segments=SEGMENTS)
        transcript = await client.get_transcript(job.job_id)
        summary = await client.get_summary(job.job_id)
        got = await client.get_job(job.job_id)
        cancelled = await client.cancel(job.job_id)
        deleted = await client.delete(job.job_id)
        try:
            await client.get_job(job.job_id)
            raise AssertionError("the deleted job is still there")
        except NotFound:
            pass

    assert list(transcript.segments) == list(SEGMENTS)
    assert summary.template == job_pb2.NOTE_TEMPLATE_DAP
    assert summary.rendered_text.startswith("Subjective")
    assert got.state == job_pb2.JOB_STATE_COMPLETED
    assert cancelled.state == job_pb2.JOB_STATE_COMPLETED  # terminal: cancel changes nothing
    assert deleted.delete_time.seconds > 0


async def test_health_reports_serving_then_not_serving(server: ServerThread) -> None:
    async with ConsultaClient(server.target) as client:
        assert await client.health() == "SERVING"
        assert await client.health(SERVICE_NAME) == "SERVING"
        server.set_serving(False)
        assert await client.health() == "NOT_SERVING"
