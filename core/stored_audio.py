"""Audio in the blob store, checked: decoded fully once, with its size and SHA-256 known.

Shared by the server (uploads and CreateJob) and the sweeper (a live upload it finishes for an
absent client).
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.audio import AudioInfo, probe
from core.blobstore.base import BlobStore


@dataclass(frozen=True, slots=True)
class CheckedAudio:
    """Audio stored under ``key`` that decoded cleanly."""

    key: str
    size: int
    sha256: str
    info: AudioInfo


def audio_key(job_or_upload_id: str) -> str:
    return f"audio/{job_or_upload_id}"


async def check_stored_audio(
    blobs: BlobStore,
    key: str,
    *,
    max_seconds: float,
    sha256: str | None = None,
    size: int | None = None,
    decoded: AudioInfo | None = None,
) -> CheckedAudio:
    """Decode the stored object fully (AudioError when bad, OutOfRange when longer than
    ``max_seconds``) and know its hash and size.

    A store with local files is decoded in place; otherwise the object is streamed once to a
    temporary file (never to memory), hashed on the way. ``sha256``/``size`` computed while
    receiving spare a second read, and ``decoded`` (a local file's description from its
    decode while it arrived, core/stream_probe.py) a second decode. Decoding runs in a thread.
    """
    path = blobs.local_path(key)
    if path is not None:
        if sha256 is not None and size is not None:
            known = sha256, size
        else:
            known = await asyncio.to_thread(_hash_file, path)
        info = decoded
        if info is None:
            info = await asyncio.to_thread(probe, path, max_seconds=max_seconds)
        return CheckedAudio(key=key, size=known[1], sha256=known[0], info=info)
    digest = hashlib.sha256()
    total = 0
    with tempfile.TemporaryDirectory(prefix="consulta-probe-") as folder:
        copy = Path(folder) / "audio"
        out: BinaryIO = await asyncio.to_thread(copy.open, "wb")
        try:
            async for chunk in blobs.iter_bytes(key):
                digest.update(chunk)
                total += len(chunk)
                await asyncio.to_thread(out.write, chunk)
        finally:
            await asyncio.to_thread(out.close)
        info = await asyncio.to_thread(probe, copy, max_seconds=max_seconds)
    return CheckedAudio(key=key, size=total, sha256=digest.hexdigest(), info=info)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
