"""Upload throughput (UploadAudio vs a bare stream that discards bytes) and the server's
memory while it takes a 1 GiB upload.

``upload_ratio`` compares a durable upload with a stream that keeps nothing, so it can never
pass what the disk allows: ``upload_disk_mib_s`` is the local store writing the same bytes
durably with nothing else (its parts, each flushed to disk, into the folder the server
uses), and ``upload_disk_ratio`` that rate against the bare stream's: the highest
``upload_ratio`` this machine's disk permits, measured in the same run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import psutil
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from bench.common import child_server, free_port
from core.auth import mint_token

CHUNK = 1 << 20
MIB = 1 << 20
#: A server that takes the 1 GiB upload: 4 GiB, and a day of audio (1 GiB of 16 kHz 16-bit
#: mono silence lasts 9.3 h, past the default 4 h limit).
BIG_UPLOADS = {
    "CONSULTA_RUN_WORKER": "false",
    "CONSULTA_MAX_AUDIO_BYTES": str(4 << 30),
    "CONSULTA_MAX_AUDIO_SECONDS": "86400",
}


def wav_header(data_bytes: int, rate: int = 16000) -> bytes:
    import struct

    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


async def requests(total: int) -> AsyncIterator[pb.UploadAudioRequest]:
    """A valid WAV of `total` bytes (silence), in 1 MiB chunks; the same for both servers."""
    yield pb.UploadAudioRequest(config=pb.UploadConfig(declared_size_bytes=total))
    header = wav_header(total - 44)
    zeros = bytes(CHUNK)
    offset = 0
    while offset < total:
        size = min(CHUNK, total - offset)
        data = (header + zeros[: size - 44]) if offset == 0 else zeros[:size]
        yield pb.UploadAudioRequest(
            chunk=pb.AudioChunk(offset=offset, data=data, finish=offset + size >= total)
        )
        offset += size


async def upload_seconds(address: str, total: int, token: str | None) -> float:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    options = [("grpc.max_send_message_length", 5 << 20)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        start = time.perf_counter()
        last = None
        async for response in stub.UploadAudio(requests(total), metadata=metadata):
            last = response
        elapsed = time.perf_counter() - start
    assert last is not None and last.HasField("job"), last
    return elapsed


@contextmanager
def bare_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_server", str(port)], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class PeakRss:
    """Samples a process's resident memory every 10 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.baseline = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def s3_multipart_rss(size_mib: int, small_mib: int = 16) -> dict[str, float]:
    """Server memory while it streams uploads of two sizes into S3 multipart parts
    (SeaweedFS): flat means the growth does not follow the size."""
    from app.devstack.seaweed import seaweed_s3

    with seaweed_s3() as s3:
        env = {
            "CONSULTA_RUN_WORKER": "false",
            "CONSULTA_BLOB_URL": "s3://bench/audio",
            "CONSULTA_S3_ENDPOINT_URL": s3.url,
            "CONSULTA_S3_ACCESS_KEY_ID": s3.access_key,
            "CONSULTA_S3_SECRET_ACCESS_KEY": s3.secret_key,
            "CONSULTA_S3_CREATE_BUCKET": "true",
        }
        with child_server(env) as server:
            token = mint_token(server.secret, "bench")
            asyncio.run(upload_seconds(server.address, 8 * MIB, token))  # warm-up
            with PeakRss(server.proc.pid) as small:
                asyncio.run(upload_seconds(server.address, small_mib * MIB, token))
            with PeakRss(server.proc.pid) as rss:
                seconds = asyncio.run(upload_seconds(server.address, size_mib * MIB, token))
    return {
        "upload_s3_small_mib": small_mib,
        "upload_s3_small_rss_growth_mib": round((small.peak - small.baseline) / MIB, 1),
        "upload_s3_mib": size_mib,
        "upload_s3_mib_s": round(size_mib / seconds, 1),
        "upload_s3_rss_growth_mib": round((rss.peak - rss.baseline) / MIB, 1),
    }


async def store_seconds(folder: str, total: int) -> float:
    """The local store taking ``total`` bytes in its parts, durably, as an upload does."""
    from core.blobstore.local import LocalBlobStore

    store = LocalBlobStore(Path(folder))
    part = bytes(store.part_size)
    start = time.perf_counter()
    handle = await store.start_multipart("audio/disk")
    parts = []
    for number, offset in enumerate(range(0, total, store.part_size), start=1):
        size = min(store.part_size, total - offset)
        parts.append(await store.upload_part("audio/disk", handle, number, part[:size]))
    await store.complete_multipart("audio/disk", handle, parts)
    elapsed = time.perf_counter() - start
    await store.delete("audio/disk")
    return elapsed


def disk_seconds(total: int, rounds: int) -> float:
    """Best of ``rounds`` durable writes of ``total`` bytes in a folder where the bench's
    servers keep their data (the system's temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="consulta-bench-disk-") as folder:
        return min(asyncio.run(store_seconds(folder, total)) for _ in range(rounds))


def run(
    size_mib: int = 256, rss_mib: int = 1024, rounds: int = 3, s3_mib: int = 256
) -> dict[str, float]:
    total = size_mib * MIB
    with bare_server() as address:
        asyncio.run(upload_seconds(address, 8 * MIB, None))  # warm-up
        bare = min(asyncio.run(upload_seconds(address, total, None)) for _ in range(rounds))
    with child_server(BIG_UPLOADS) as server:
        token = mint_token(server.secret, "bench")
        asyncio.run(upload_seconds(server.address, 8 * MIB, token))  # warm-up
        ours = min(asyncio.run(upload_seconds(server.address, total, token)) for _ in range(rounds))
        with PeakRss(server.proc.pid) as rss:
            big = asyncio.run(upload_seconds(server.address, rss_mib * MIB, token))
    disk = disk_seconds(total, rounds)
    s3 = s3_multipart_rss(s3_mib)
    return {
        **s3,
        "upload_bare_mib_s": round(size_mib / bare, 1),
        "upload_mib_s": round(size_mib / ours, 1),
        "upload_ratio": round(bare / ours, 3),
        "upload_disk_mib_s": round(size_mib / disk, 1),
        "upload_disk_ratio": round(bare / disk, 3),
        "upload_1gib_seconds": round(big, 2),
        "upload_rss_baseline_mib": round(rss.baseline / MIB, 1),
        "upload_rss_growth_mib": round((rss.peak - rss.baseline) / MIB, 1),
    }


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 64, 256, 1))
