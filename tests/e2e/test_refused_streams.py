"""A refused upload reaches an asyncio client with our status, not grpc.aio's INTERNAL.

grpc.aio reports "Internal error from Core" when a client write fails because the server
already ended the call (grpc/grpc#36066). The server reads what the client still has in
flight for a moment before refusing (server/stream_drain.py), so the client's writes
complete and it sees the real status and reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.deployment import Deployment
from tests.e2e.rpc_errors import failure

BURST = 48  # chunks the client has queued behind its config
PIECE = 64 << 10
ATTEMPTS = 40


async def _config_then_burst(too_big: int) -> AsyncIterator[pb.UploadAudioRequest]:
    yield pb.UploadAudioRequest(config=pb.UploadConfig(declared_size_bytes=too_big))
    for index in range(BURST):
        yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=index * PIECE, data=b"\0" * PIECE))


@pytest.mark.parametrize("kind", ["embedded"])
async def test_refused_upload_reports_its_reason_to_a_client_still_sending(
    deployment: Deployment,
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    too_big = deployment.settings.max_audio_bytes + 1
    codes = []
    for _ in range(ATTEMPTS):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _response in stub.UploadAudio(
                _config_then_burst(too_big), metadata=auth, timeout=30
            ):
                pass
        result = failure(caught.value)
        codes.append((result.code, result.reason))
    assert set(codes) == {(grpc.StatusCode.OUT_OF_RANGE, "AUDIO_TOO_LARGE")}, codes
