"""Per-caller upload limits (issue 10, finding 4): concurrent streams, bytes held in staging
(abandoned uploads included until they expire) and an idle timeout that ends a silent stream
with ABORTED while its committed bytes stay resumable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core.settings import Settings
from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import base_settings, delete_rabbitmq_queues, scaled_settings
from tests.e2e.deployment import Deployment, start_deployment
from tests.e2e.rpc_errors import failure
from tests.support import eventually

EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs

Start = Callable[..., Awaitable[Deployment]]


@pytest.fixture
async def start_limited(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Start]:
    """Starts a deployment with small parts (so bytes commit quickly) and the given limits."""
    started: list[tuple[Deployment, Settings]] = []

    async def start(**overrides: Any) -> Deployment:
        if kind == "embedded":
            settings = base_settings(tmp_path, local_part_size_bytes=256 << 10, **overrides)
        else:
            s3 = request.getfixturevalue("s3_endpoint")
            settings = await scaled_settings(tmp_path, s3, **overrides)
        deployment = await start_deployment(kind, settings)
        started.append((deployment, settings))
        return deployment

    yield start
    for deployment, settings in started:
        await deployment.stop()
        await delete_rabbitmq_queues(settings)


@pytest.fixture
def part(kind: str) -> int:
    """Bytes per committed part: set small on the local store, S3's minimum scaled out."""
    return 256 << 10 if kind == "embedded" else 5 << 20


class OpenUpload:
    """An upload stream the test feeds by hand and can leave silent."""

    def __init__(self, deployment: Deployment, user: str = "alice") -> None:
        self.outbox: asyncio.Queue[pb.UploadAudioRequest | None] = asyncio.Queue()
        self.call: Any = deployment.stub().UploadAudio(
            self._requests(), metadata=deployment.auth(user), timeout=60
        )

    async def _requests(self) -> AsyncIterator[pb.UploadAudioRequest]:
        while (message := await self.outbox.get()) is not None:
            yield message

    def send(self, message: pb.UploadAudioRequest | None) -> None:
        self.outbox.put_nowait(message)

    async def status(self) -> pb.UploadStatus:
        response = await self.call.read()
        assert response is not EOF and response.HasField("status"), response
        status: pb.UploadStatus = response.status
        return status

    def send_bytes(self, data: bytes, start: int = 0, *, finish: bool = False) -> None:
        """Sends ``data`` from offset ``start`` in chunks, the last one with ``finish``."""
        step = 64 << 10
        for offset in range(start, len(data), step):
            piece = data[offset : offset + step]
            last = finish and offset + step >= len(data)
            chunk = pb.AudioChunk(offset=offset, data=piece, finish=last)
            self.send(pb.UploadAudioRequest(chunk=chunk))

    def close(self) -> None:
        """Ends the request stream and cancels the call (a client that goes away)."""
        self.send(None)
        self.call.cancel()

    async def committed(self, data: bytes, at_least: int) -> pb.UploadStatus:
        """Sends ``data`` without finishing; returns once ``at_least`` bytes are committed."""
        self.send_bytes(data)
        status = await self.status()
        while status.committed_offset < at_least:
            status = await self.status()
        return status

    async def error(self) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            while await self.call.read() is not EOF:
                pass
        return caught.value


async def test_concurrent_streams_are_limited_per_caller(start_limited: Start) -> None:
    deployment = await start_limited(upload_max_streams_per_caller=2)
    first, second = OpenUpload(deployment), OpenUpload(deployment)
    for stream in (first, second):
        stream.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
        await stream.status()

    third = OpenUpload(deployment)
    third.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
    result = failure(await third.error())
    assert (result.code, result.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "TOO_MANY_UPLOADS",
    )
    assert result.retry_seconds and result.retry_seconds > 0

    # Another caller is not held back by alice's streams.
    bob = OpenUpload(deployment, user="bob")
    bob.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
    assert (await bob.status()).upload_id

    # A closed stream frees its slot.
    first.close()

    async def accepted() -> bool:
        again = OpenUpload(deployment)
        again.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
        try:
            return bool((await again.status()).upload_id)
        except grpc.aio.AioRpcError:
            return False
        finally:
            again.close()

    await eventually(accepted, what="a slot freed by the cancelled stream")
    for stream in (second, bob, third):
        stream.close()


async def test_one_fast_upload_stops_at_the_staging_limit(start_limited: Start, part: int) -> None:
    """Three parts sent at once, the third past the limit: its staging check runs while the
    second is written, and must count that part too."""
    deployment = await start_limited(upload_max_staged_bytes_per_caller=int(part * 2.5))
    upload = OpenUpload(deployment)
    upload.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
    upload_id = (await upload.status()).upload_id
    # Exactly three parts: the client has nothing left to write when the server refuses
    # (grpcio's asyncio client reports INTERNAL "Internal error from Core" instead of the
    # server's status when a write is still in flight then: grpc/grpc#36066).
    upload.send_bytes(b"\0" * (3 * part))
    statuses: list[int] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        while (response := await upload.call.read()) is not EOF:
            statuses.append(response.status.committed_offset)
            assert response.status.committed_offset <= 2 * part, "staged past the limit"
    result = failure(caught.value)
    assert (result.code, result.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "UPLOAD_STAGING_FULL",
    )
    # (A status sent just before the error may not be read: grpcio's asyncio client raises
    # the call's status on read() once it has arrived, whatever messages are still queued.)
    assert set(statuses) <= {part, 2 * part}
    stored = await deployment.stub().GetUploadStatus(
        pb.GetUploadStatusRequest(upload_id=upload_id), metadata=deployment.auth("alice")
    )
    assert stored.committed_offset == 2 * part
    upload.close()


async def test_the_part_being_written_counts_in_the_next_parts_staging_check(
    start_limited: Start, part: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test above, with the timing made certain: part 2's write is held until part 3's
    staging check has run, so that check sees part 2 only as the part being written (not yet
    committed). Counting only committed bytes, it would let part 3 past the limit."""
    deployment = await start_limited(upload_max_staged_bytes_per_caller=int(part * 2.5))
    runtime = deployment.server.runtime
    release = asyncio.Event()
    checks: list[int] = []
    write_part = runtime.blobs.upload_part_pieces
    staged_bytes = runtime.uploads.staged_bytes

    async def held_write(key: str, handle: str, number: int, pieces: Any) -> Any:
        if number == 2:
            await asyncio.wait_for(release.wait(), timeout=30)
        return await write_part(key, handle, number, pieces)

    async def counted(*args: Any, **kwargs: Any) -> int:
        found = await staged_bytes(*args, **kwargs)
        checks.append(found)
        return found

    monkeypatch.setattr(runtime.blobs, "upload_part_pieces", held_write)
    monkeypatch.setattr(runtime.uploads, "staged_bytes", counted)
    upload = OpenUpload(deployment)
    upload.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
    upload_id = (await upload.status()).upload_id
    upload.send_bytes(b"\0" * (3 * part))
    await eventually(lambda: len(checks) >= 3, within=30, what="part 3 checked")
    release.set()
    result = failure(await upload.error())
    assert (result.code, result.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "UPLOAD_STAGING_FULL",
    )
    stored = await deployment.stub().GetUploadStatus(
        pb.GetUploadStatusRequest(upload_id=upload_id), metadata=deployment.auth("alice")
    )
    assert stored.committed_offset == 2 * part
    upload.close()


async def test_abandoned_staging_bytes_count_against_the_caller(
    start_limited: Start, part: int
) -> None:
    deployment = await start_limited(upload_max_staged_bytes_per_caller=int(part * 2.5))

    abandoned = OpenUpload(deployment)
    abandoned.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
    await abandoned.status()
    await abandoned.committed(b"\0" * (2 * part), at_least=2 * part)
    abandoned.close()

    # The next upload may stage only what is left of the limit.
    second = OpenUpload(deployment)
    second.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
    await second.status()
    second.send_bytes(b"\0" * part)
    result = failure(await second.error())
    assert (result.code, result.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "UPLOAD_STAGING_FULL",
    )
    assert result.retry_seconds and result.retry_seconds > 0

    # A declared size past what is left is refused before any byte is sent.
    declared = OpenUpload(deployment)
    declared.send(pb.UploadAudioRequest(config=pb.UploadConfig(declared_size_bytes=part)))
    assert failure(await declared.error()).reason == "UPLOAD_STAGING_FULL"

    # Other callers keep their own allowance.
    bob = OpenUpload(deployment, user="bob")
    bob.send(pb.UploadAudioRequest(config=pb.UploadConfig(declared_size_bytes=part)))
    assert (await bob.status()).upload_id
    for stream in (bob, second, declared):
        stream.close()


async def test_idle_stream_is_aborted_and_resumable(start_limited: Start, part: int) -> None:
    deployment = await start_limited(upload_idle_timeout_seconds=1.0)
    audio = wav_bytes(min_bytes=part + 1000)

    silent = OpenUpload(deployment)
    silent.send(pb.UploadAudioRequest(config=pb.UploadConfig()))
    upload_id = (await silent.status()).upload_id
    status = await silent.committed(audio[:part], at_least=part)
    error = await silent.error()  # nothing more is sent: the server gives up
    result = failure(error)
    assert (result.code, result.reason) == (grpc.StatusCode.ABORTED, "UPLOAD_IDLE")
    assert upload_id in result.message
    silent.send(None)

    # The committed bytes survived: the upload resumes from there and makes a job.
    resumed = OpenUpload(deployment)
    resumed.send(pb.UploadAudioRequest(config=pb.UploadConfig(resume_upload_id=upload_id)))
    assert (await resumed.status()).committed_offset == status.committed_offset
    resumed.send_bytes(audio, status.committed_offset, finish=True)
    responses = []
    while (response := await resumed.call.read()) is not EOF:
        responses.append(response)
    resumed.send(None)
    assert responses[-1].HasField("job")
