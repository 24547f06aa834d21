"""Uploads: chunking, declared size and SHA-256, and resuming from the committed offset."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from consulta.v1 import job_pb2

from clients.client import ConsultaClient
from clients.errors import ConsultaClientError, DataLoss
from clients.retry import RESUMABLE_CODES, RetryPolicy
from clients.sources import CHUNK_SIZE
from clients.upload import UploadProgress
from tests.clients.fake_consulta import FakeConsulta
from tests.clients.fake_server_thread import ServerThread

NO_WAIT = RetryPolicy(attempts=3, initial_backoff=0.0, max_backoff=0.0)


# Not a whole number of chunks, so the last chunk is short.
AUDIO = os.urandom(5 * CHUNK_SIZE + 12345)


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "consult.wav"
    path.write_bytes(AUDIO)
    return path


async def test_upload_sends_the_file_in_chunks_and_returns_the_job(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    progress: list[UploadProgress] = []
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        job = await client.upload(
            audio, job_pb2.JobConfig(language_code="es"), on_progress=progress.append
        )

    data = AUDIO
    (upload,) = fake.uploads.values()
    assert bytes(upload.data) == data
    assert upload.config.declared_size_bytes == len(data)
    assert upload.config.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.config.filename == "consult.wav"
    assert upload.config.job.language_code == "es"
    assert max(fake.chunk_sizes) == CHUNK_SIZE
    assert job.job_id == upload.job_id
    assert job.audio_sha256 == hashlib.sha256(data).hexdigest()
    assert fake.upload_streams == 1
    assert progress[-1].committed == progress[-1].total == len(data)
    assert [p.sent for p in progress] == sorted(p.sent for p in progress)


async def test_upload_resumes_from_the_committed_offset_after_unavailable(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    fake.break_upload_at = 2 << 20
    progress: list[UploadProgress] = []
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        job = await client.upload(audio, on_progress=progress.append)

    (upload,) = fake.uploads.values()
    # Exactly the file: nothing lost at the break and nothing sent twice into the store.
    assert bytes(upload.data) == AUDIO
    assert fake.upload_streams == 2
    assert job.job_id == upload.job_id
    assert progress[-1].resumes == 1
    # The second stream started at the committed offset, not at zero.
    resumed = [p for p in progress if p.resumes == 1]
    assert resumed[0].committed == resumed[0].sent == 2 << 20


async def test_upload_resumes_when_the_stream_ends_without_a_job(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    fake.end_upload_at = 4 << 20
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        await client.upload(audio)

    (upload,) = fake.uploads.values()
    assert bytes(upload.data) == AUDIO
    assert fake.upload_streams == 2


async def test_upload_of_an_async_stream_resumes_from_held_bytes(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 999)
    fake.break_upload_at = 2 << 20

    async def pieces() -> AsyncIterator[bytes]:
        # Odd piece sizes, so the source must re-chunk to at most 1 MiB.
        for i in range(0, len(data), 700_000):
            yield data[i : i + 700_000]

    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        await client.upload(pieces())

    (upload,) = fake.uploads.values()
    assert bytes(upload.data) == data
    assert upload.config.declared_size_bytes == 0  # unknown up front, so not declared
    assert fake.upload_streams == 2
    assert max(fake.chunk_sizes) <= CHUNK_SIZE


async def test_upload_that_progresses_between_breaks_keeps_resuming(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    fake.break_upload_points = [2 << 20, 4 << 20]
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        # One resume allowed in a row; two breaks in all, with progress in between.
        await client.upload(audio, resume_attempts=1)

    (upload,) = fake.uploads.values()
    assert bytes(upload.data) == AUDIO
    assert fake.upload_streams == 3


async def test_upload_gives_up_after_its_resume_attempts(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    fake.break_upload_at = 2 << 20
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        with pytest.raises(ConsultaClientError) as caught:
            await client.upload(audio, resume_attempts=0)

    # UNAVAILABLE as the fake aborted, or INTERNAL when grpc.aio's own write failed first in
    # the race with the abort (it then replaces the call's status); both are resumable.
    assert caught.value.code in RESUMABLE_CODES
    assert fake.upload_streams == 1


async def test_upload_of_a_file_that_changed_fails_with_data_loss(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    from clients.sources import FileSource

    source = await FileSource.open(audio)
    source.sha256 = "0" * 64  # as if the file changed after it was hashed
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        with pytest.raises(DataLoss):
            await client.upload(source)
    assert not fake.jobs


async def test_upload_survives_the_server_going_down_and_coming_back(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    fake.pause_upload_at = 2 << 20
    # Patient enough for a restart: up to 40 reopenings, 20 to 100 ms apart.
    patient = RetryPolicy(attempts=40, initial_backoff=0.02, max_backoff=0.1)
    async with ConsultaClient(server.target, token=token, retry=patient) as client:
        upload = asyncio.ensure_future(client.upload(audio))
        assert await asyncio.to_thread(fake.upload_paused.wait, 10), "the upload never paused"
        # The process dies mid-stream; a new one comes up on the same port with the same store.
        await asyncio.to_thread(server.stop)
        restarted = ServerThread(fake, port=server.port)
        await asyncio.to_thread(restarted.start)
        try:
            job = await asyncio.wait_for(upload, timeout=20)
        finally:
            await asyncio.to_thread(restarted.stop)

    (stored,) = fake.uploads.values()
    assert bytes(stored.data) == AUDIO
    assert job.job_id == stored.job_id
    assert fake.upload_streams >= 2


async def test_upload_whose_job_response_was_lost_returns_the_job_without_resending(
    server: ServerThread, fake: FakeConsulta, token: str, audio: Path
) -> None:
    fake.lose_job_response = True
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        job = await client.upload(audio)

    (upload,) = fake.uploads.values()
    assert job.job_id == upload.job_id
    assert len(fake.jobs) == 1
    # GetUploadStatus said the upload was complete, so no second stream was opened.
    assert fake.upload_streams == 1
