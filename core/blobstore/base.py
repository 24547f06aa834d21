"""Where audio lives. Keys are relative paths such as ``audio/<job_id>``.

Uploads go in parts so that memory never holds a whole file: the server buffers at most
``part_size`` bytes, writes a part, and reports the bytes of written parts as committed.
Adapters raise only ``core.errors`` exceptions (NotFound, InvalidArgument, Unavailable).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Part:
    """A written part: its number (from 1) and the store's token for it (an S3 ETag)."""

    number: int
    token: str


class BlobStore(ABC):
    """Stores audio objects by key."""

    #: Bytes the server collects before writing a part (S3 needs at least 5 MiB but the last).
    part_size: int
    #: Stored objects are files on this machine (``local_path`` answers once they exist), so
    #: an upload decoded while it arrives can be described from its finished file in place.
    keeps_local_files: bool = False

    @abstractmethod
    async def start_multipart(self, key: str) -> str:
        """Begin a multipart object at ``key``; return the store's handle for it."""

    @abstractmethod
    async def upload_part(self, key: str, handle: str, number: int, data: bytes) -> Part:
        """Write part ``number`` (from 1) durably; writing the same number again replaces it."""

    async def upload_part_pieces(
        self, key: str, handle: str, number: int, pieces: Sequence[bytes | memoryview]
    ) -> Part:
        """:meth:`upload_part` of the part made of ``pieces`` in order (a stream's chunks as
        they came). Joined here in a worker thread; a store that can write the pieces as they
        are (the local folder, with one vectored write) does so without the copy."""
        data = pieces[0] if len(pieces) == 1 and isinstance(pieces[0], bytes) else None
        if data is None:
            data = await asyncio.to_thread(b"".join, pieces)
        return await self.upload_part(key, handle, number, data)

    @abstractmethod
    async def complete_multipart(self, key: str, handle: str, parts: list[Part]) -> None:
        """Join the parts, in order, into the object at ``key``."""

    @abstractmethod
    async def abort_multipart(self, key: str, handle: str) -> None:
        """Drop a multipart object's parts; does nothing when they are already gone."""

    @abstractmethod
    async def put(self, key: str, data: bytes) -> None:
        """Store a small object in one call, durably: when it returns, the object survives a
        crash of this process or machine (a live upload acknowledges bytes on that)."""

    @abstractmethod
    async def compose(self, keys: Sequence[str], key: str) -> int:
        """Join the objects ``keys``, in order, into one object at ``key`` and return its
        size. Memory stays bounded (one part at most) whatever the sizes; the sources are
        left in place. NotFound when a source does not exist."""

    async def read(self, key: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of the object from ``offset`` (empty past its end);
        NotFound when it does not exist. Adapters override this with a ranged read."""
        out = bytearray()
        position = 0
        async for chunk in self.iter_bytes(key):
            end = position + len(chunk)
            if end > offset:
                out += chunk[max(0, offset - position) :]
            position = end
            if len(out) >= length:
                break
        return bytes(out[:length])

    @abstractmethod
    def iter_bytes(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the object's bytes; NotFound when it does not exist."""

    async def download_to(self, key: str, path: Path) -> int:
        """Copy the object to a local file without holding it in memory; return its size."""
        size = 0
        with path.open("wb") as out:
            async for chunk in self.iter_bytes(key):
                out.write(chunk)
                size += len(chunk)
        return size

    @abstractmethod
    async def size(self, key: str) -> int:
        """The object's size in bytes; NotFound when it does not exist."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; does nothing when it is already gone."""

    @abstractmethod
    async def delete_folder(self, folder: str) -> None:
        """Remove every object whose key starts with ``folder/`` (a live upload's segments,
        including one whose writer died before any row named it); nothing when none."""

    @abstractmethod
    async def import_uri(self, uri: str, key: str) -> int:
        """Copy an object the caller names by URI (``s3://bucket/key``) to ``key``.

        Returns its size. InvalidArgument when this store cannot read that kind of URI,
        NotFound when the object does not exist.
        """

    def local_path(self, key: str) -> Path | None:
        """The object's file when the store keeps it on this machine's disk, else None.

        Lets the server decode a just-stored upload in place instead of copying it.
        """
        return None

    async def presign_get(self, key: str, expires_seconds: int = 300) -> str | None:
        """A URL that downloads the object for a while, or None when the store cannot sign."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
