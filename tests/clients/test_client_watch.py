"""watch(): a snapshot, then every event once and in order, across reconnects."""

from __future__ import annotations

import asyncio

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from clients.client import ConsultaClient
from clients.errors import NotFound, Unavailable
from clients.retry import RetryPolicy
from tests.clients.fake_consulta import FakeConsulta
from tests.clients.fake_server_thread import ServerThread

NO_WAIT = RetryPolicy(attempts=3, initial_backoff=0.0, max_backoff=0.0)


async def _watch_all(
    client: ConsultaClient, job_id: str, after: int = 0
) -> list[pb.WatchJobResponse]:
    return [message async for message in client.watch(job_id, after)]


def _sequences(messages: list[pb.WatchJobResponse]) -> list[int]:
    return [m.event.sequence for m in messages if m.HasField("event")]


async def test_watch_yields_the_snapshot_then_every_event_until_terminal(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        job = await client.create_job(transcript_text="Doctor: hello")
        messages = await _watch_all(client, job.job_id)

    assert messages[0].HasField("snapshot")
    assert messages[0].snapshot.job_id == job.job_id
    assert _sequences(messages) == list(range(1, len(fake.jobs[job.job_id].events) + 1))
    assert messages[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED


async def test_watch_reconnects_after_unavailable_with_no_gap_and_no_repeat(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    fake.break_watch_after = 3
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        job = await client.create_job(transcript_text="Doctor: hello")
        messages = await _watch_all(client, job.job_id)

    total = len(fake.jobs[job.job_id].events)
    assert _sequences(messages) == list(range(1, total + 1))
    assert sum(m.HasField("snapshot") for m in messages) == 1
    assert [r.after_sequence for r in fake.watch_requests] == [0, 3]


async def test_watch_drops_events_a_server_sends_again_after_a_reconnect(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    fake.break_watch_after = 2
    fake.replay_on_reconnect = True
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        job = await client.create_job(transcript_text="Doctor: hello")
        messages = await _watch_all(client, job.job_id)

    assert _sequences(messages) == list(range(1, len(fake.jobs[job.job_id].events) + 1))


async def test_watch_starts_after_the_given_sequence(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        job = await client.create_job(transcript_text="Doctor: hello")
        messages = await _watch_all(client, job.job_id, after=4)

    assert _sequences(messages) == list(range(5, len(fake.jobs[job.job_id].events) + 1))


async def test_watch_gives_up_when_the_server_stays_unavailable(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    fake.break_watch_after = 1
    policy = RetryPolicy(attempts=0, initial_backoff=0.0, max_backoff=0.0)
    async with ConsultaClient(server.target, token=token, retry=policy) as client:
        job = await client.create_job(transcript_text="Doctor: hello")
        seen: list[int] = []
        with pytest.raises(Unavailable):
            async for message in client.watch(job.job_id):
                if message.HasField("event"):
                    seen.append(message.event.sequence)
    assert seen == [1]


async def test_watch_of_an_unknown_job_raises_not_found_without_retrying(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        with pytest.raises(NotFound) as caught:
            await _watch_all(client, "00000000-0000-0000-0000-000000000000")
    assert caught.value.reason == "JOB_NOT_FOUND"
    assert fake.watch_requests == []


async def test_watch_survives_the_server_going_down_and_coming_back(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    fake.pause_watch_after = 2
    patient = RetryPolicy(attempts=40, initial_backoff=0.02, max_backoff=0.1)
    async with ConsultaClient(server.target, token=token, retry=patient) as client:
        job = await client.create_job(transcript_text="Doctor: hello")
        watching = asyncio.ensure_future(_watch_all(client, job.job_id))
        assert await asyncio.to_thread(fake.watch_paused.wait, 10), "the watch never paused"
        await asyncio.to_thread(server.stop)
        restarted = ServerThread(fake, port=server.port)
        await asyncio.to_thread(restarted.start)
        try:
            messages = await asyncio.wait_for(watching, timeout=20)
        finally:
            await asyncio.to_thread(restarted.stop)

    assert _sequences(messages) == list(range(1, len(fake.jobs[job.job_id].events) + 1))
    assert fake.watch_requests[-1].after_sequence == 2
