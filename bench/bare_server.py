"""The reference for the upload and unary benchmarks: a bare grpc.aio server with the same
service and messages that does no work (discards upload bytes, echoes GetJob)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc


class Discard(pb_grpc.TranscriptionServiceServicer):
    async def UploadAudio(
        self, request_iterator: AsyncIterator[pb.UploadAudioRequest], context: Any
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        received = 0
        async for request in request_iterator:
            received += len(request.chunk.data)
            if request.chunk.finish:
                break
        yield pb.UploadAudioResponse(job=job_pb2.Job(job_id="bare", audio_size_bytes=received))

    async def GetJob(self, request: pb.GetJobRequest, context: Any) -> pb.GetJobResponse:
        return pb.GetJobResponse(job=job_pb2.Job(job_id=request.job_id))


async def main(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 5 << 20)])
    # Only the two benchmarked RPCs exist; the rest answer UNIMPLEMENTED.
    pb_grpc.add_TranscriptionServiceServicer_to_server(Discard(), server)  # type: ignore[abstract]
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
