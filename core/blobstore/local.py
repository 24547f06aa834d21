"""A blob store in a local folder: the embedded default.

A multipart object is one file under a hidden staging folder
(``<root>/.staging/<handle>/data``): part ``n`` is written at offset ``(n - 1) * part_size``
and flushed to disk, and its token (a fresh id and its length) is appended to the folder's
token log (``tokens``, flushed too) only after that, so a token always names bytes that are
on disk. One append and flush per part, where a file per token cost a temporary file, a
rename and two more flushes (bench/results/profile-upload-*.txt). Completing checks the
tokens (the last line for a part wins; a torn last line was never acknowledged), trims the
file to the parts' length and renames it over the key: no byte is copied, and readers see the
old object or the new one, never half of one.

``put`` and ``compose`` write a temporary file, fsync it, rename it over the key and fsync the
folder, so an object that was reported stored survives a power cut (a live upload
acknowledges its chunks on that).

File I/O runs in worker threads so that the event loop is never blocked by a slow disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path, PurePosixPath

from core.blobstore.base import BlobStore, Part
from core.errors import InvalidArgument, NotFound
from core.private_files import DIR_MODE, open_private, private_dir

_STAGING = ".staging"
#: Pieces one vectored write takes (Linux's IOV_MAX).
_IOV_MAX = 1024
#: The token log of a staged multipart object (see the module's docstring).
_TOKENS = "tokens"
_TOKEN_LINE = re.compile(r"([0-9]{1,9}) ([0-9a-f]{32}:[0-9]+)")


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, flushed to disk before the rename,
    and the rename flushed with the folder."""
    _fsync_join(path, [data], [])


def _fsync_join(path: Path, pieces: Sequence[bytes], sources: Sequence[Path]) -> int:
    """Write ``pieces`` then the files ``sources`` to ``path`` as one durable replacement
    (temporary file, fsync, rename, fsync of the folder); return the size written."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    size = 0
    try:
        with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as out:
            for data in pieces:
                out.write(data)
                size += len(data)
            for source in sources:
                try:
                    with source.open("rb") as src:
                        while block := src.read(1 << 20):
                            out.write(block)
                            size += len(block)
                except (FileNotFoundError, IsADirectoryError) as exc:
                    raise NotFound(f"no blob {source.name}") from exc
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return size


class LocalBlobStore(BlobStore):
    """Objects are files under ``root``; a key ``audio/<job_id>`` is ``<root>/audio/<job_id>``.

    Needs no ``start()``: the folder is created on construction.
    """

    keeps_local_files = True

    def __init__(self, root: Path, *, part_size: int = 8 << 20) -> None:
        #: Every part but the last holds exactly this many bytes (the server's buffer).
        self.part_size = part_size
        self.root = root.resolve()
        private_dir(self.root / _STAGING)
        private_dir(self.root)

    # -- paths -------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        """The file of ``key``; InvalidArgument for keys that could leave the folder.

        Keys come from the server, but a key built from caller input must still never name a
        file outside the store or inside its staging area.
        """
        path = (self.root / _relative_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidArgument(f"invalid blob key {key!r}: outside the store")
        return path

    def _staging(self, handle: str) -> Path:
        # Handles are uuid4 hex strings we made; anything else could be a path trick.
        try:
            if uuid.UUID(hex=handle).hex != handle:
                raise ValueError(handle)
        except ValueError as exc:
            raise InvalidArgument(f"invalid multipart handle {handle!r}") from exc
        return self.root / _STAGING / handle

    @staticmethod
    def _recorded_tokens(staging: Path) -> dict[int, str]:
        """Each part's last recorded token. Records are ``<number> <token>`` lines, each
        written with a newline before and after, so that a record a crash cut short (never
        acknowledged) is a line of its own that does not parse, whatever is appended after
        it. (Folders staged by an earlier version hold ``part-NNNNNN.token`` files; the log
        is newer than those.)"""
        tokens = {
            int(legacy.name[5:11]): legacy.read_text()
            for legacy in staging.glob("part-[0-9][0-9][0-9][0-9][0-9][0-9].token")
        }
        with contextlib.suppress(FileNotFoundError):
            for line in (staging / _TOKENS).read_text().splitlines(keepends=True):
                record = _TOKEN_LINE.fullmatch(line.rstrip("\n"))
                if record is not None:
                    tokens[int(record[1])] = record[2]
        return tokens

    # -- multipart ---------------------------------------------------------------------------

    async def start_multipart(self, key: str) -> str:
        self._path(key)
        handle = uuid.uuid4().hex
        await asyncio.to_thread(self._stage, self._staging(handle))
        return handle

    @staticmethod
    def _stage(staging: Path) -> None:
        """The staging folder with its empty data file and token log, on disk once: later
        part writes only flush file contents."""
        staging.mkdir(mode=DIR_MODE, parents=True)
        for name in ("data", _TOKENS):
            os.close(open_private(staging / name, os.O_WRONLY))
        _fsync_dir(staging)
        _fsync_dir(staging.parent)

    async def upload_part(self, key: str, handle: str, number: int, data: bytes) -> Part:
        return await self.upload_part_pieces(key, handle, number, [data])

    async def upload_part_pieces(
        self, key: str, handle: str, number: int, pieces: Sequence[bytes | memoryview]
    ) -> Part:
        # The part goes to the staging folder, not to the key's file: the key is checked as
        # a name only (resolving it was 5% of the event loop's samples in an upload,
        # bench/results/profile-upload-before-4.txt); complete_multipart resolves it.
        _relative_key(key)
        if number < 1:
            raise InvalidArgument(f"part numbers start at 1, got {number}")
        size = sum(len(piece) for piece in pieces)
        if size > self.part_size:
            raise InvalidArgument(f"a part holds at most {self.part_size} bytes")
        staging = self._staging(handle)
        if not staging.is_dir():
            raise NotFound(f"no multipart upload {handle}")
        token = f"{uuid.uuid4().hex}:{size}"
        await asyncio.to_thread(self._write_part, staging, number, pieces, token)
        return Part(number=number, token=token)

    def _write_part(
        self, staging: Path, number: int, pieces: Sequence[bytes | memoryview], token: str
    ) -> None:
        fd = open_private(staging / "data", os.O_RDWR)
        try:
            offset = start_at = (number - 1) * self.part_size
            for start in range(0, len(pieces), _IOV_MAX):
                batch = pieces[start : start + _IOV_MAX]
                written = os.pwritev(fd, batch, offset)
                expected = sum(len(piece) for piece in batch)
                if written != expected:  # a short write: the rest, one piece at a time
                    _write_rest(fd, batch, offset, written)
                offset += expected
            os.fdatasync(fd)
            _release_cache(fd, start_at, offset - start_at)
        finally:
            os.close(fd)
        log = open_private(staging / _TOKENS, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(log, f"\n{number} {token}\n".encode())
            os.fdatasync(log)
        finally:
            os.close(log)

    async def complete_multipart(self, key: str, handle: str, parts: list[Part]) -> None:
        target = self._path(key)
        staging = self._staging(handle)
        numbers = [p.number for p in parts]
        if numbers != list(range(1, len(parts) + 1)):
            raise InvalidArgument("parts must be 1, 2, 3, ... listed once each, in order")
        await asyncio.to_thread(self._join, staging, target, parts)
        await asyncio.to_thread(shutil.rmtree, staging, True)

    def _join(self, staging: Path, target: Path, parts: list[Part]) -> None:
        if not staging.is_dir():
            raise NotFound(f"no multipart upload {staging.name}")
        total = 0
        tokens = self._recorded_tokens(staging)
        for index, part in enumerate(parts):
            recorded = tokens.get(part.number)
            if recorded is None:
                raise InvalidArgument(f"part {part.number} was never written")
            if recorded != part.token:
                raise InvalidArgument(f"part {part.number} does not match its token")
            size = int(part.token.rsplit(":", 1)[1])
            if index < len(parts) - 1 and size != self.part_size:
                raise InvalidArgument(f"part {part.number} is short ({size} bytes) but not last")
            total += size
        data = staging / "data"
        target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        with data.open("r+b") as out:
            out.truncate(total)
            out.flush()
            os.fsync(out.fileno())
        data.replace(target)

    async def abort_multipart(self, key: str, handle: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._staging(handle), True)

    # -- whole objects -----------------------------------------------------------------------

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, mode=DIR_MODE, parents=True, exist_ok=True)
        await asyncio.to_thread(_fsync_write, path, data)

    async def compose(self, keys: Sequence[str], key: str) -> int:
        sources = [self._path(k) for k in keys]
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, mode=DIR_MODE, parents=True, exist_ok=True)
        return await asyncio.to_thread(_fsync_join, path, [], sources)

    async def read(self, key: str, offset: int, length: int) -> bytes:
        return await asyncio.to_thread(self._read, self._path(key), offset, length)

    @staticmethod
    def _read(path: Path, offset: int, length: int) -> bytes:
        try:
            with path.open("rb") as src:
                src.seek(offset)
                return src.read(length)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFound(f"no blob {path.name}") from exc

    async def iter_bytes(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            src = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFound(f"no blob {key}") from exc
        try:
            while chunk := await asyncio.to_thread(src.read, chunk_size):
                yield chunk
        finally:
            src.close()

    async def size(self, key: str) -> int:
        path = self._path(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError as exc:
            raise NotFound(f"no blob {key}") from exc
        if not path.is_file():
            raise NotFound(f"no blob {key}")
        return stat.st_size

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except IsADirectoryError as exc:
            raise NotFound(f"no blob {key}") from exc
        if len(PurePosixPath(key).parts) > 2:
            # A folder named after a job (live/<job_id>/, a live upload's segments) goes
            # with its last object, so that no name of an erased job stays on disk.
            with contextlib.suppress(OSError):
                await asyncio.to_thread(path.parent.rmdir)

    async def delete_folder(self, folder: str) -> None:
        path = self._path(folder)
        await asyncio.to_thread(_remove_tree, path)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    async def import_uri(self, uri: str, key: str) -> int:
        # A server must never read arbitrary files on its own disk on a caller's behalf.
        raise InvalidArgument(
            "this server stores audio in a local folder and cannot import audio by URI; "
            "upload the bytes instead",
            reason="URI_NOT_SUPPORTED",
        )


def _relative_key(key: str) -> PurePosixPath:
    """``key`` as a relative path inside the store, by its name alone; InvalidArgument for a
    key that is empty, absolute, or has empty, dot or hidden parts."""
    if not key or "\x00" in key or "\\" in key:
        raise InvalidArgument(f"invalid blob key {key!r}")
    pure = PurePosixPath(key)
    if pure.is_absolute() or any(p in ("", ".", "..") or p.startswith(".") for p in pure.parts):
        raise InvalidArgument(f"invalid blob key {key!r}: must be a relative path")
    return pure


def _release_cache(fd: int, offset: int, length: int) -> None:
    """Give the page cache back the pages of bytes just flushed to disk. An upload streams
    through once (the worker reads the file later, from disk if need be); with the cache full
    of other files, every new page of the next part cost the kernel a reclaim inside
    ``os.pwritev``: 53% of the upload's samples in bench/results/profile-upload-after-3.txt,
    about 100 MiB/s against 150-180 MiB/s with the pages given back. Linux only (where
    ``posix_fadvise`` exists); elsewhere the kernel decides alone."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _write_rest(fd: int, pieces: Sequence[bytes | memoryview], offset: int, written: int) -> None:
    """Finish a vectored write that stopped after ``written`` bytes (the kernel may)."""
    for piece in pieces:
        view = memoryview(piece)
        if written >= len(view):
            written -= len(view)
            offset += len(view)
            continue
        view, offset, written = view[written:], offset + written, 0
        while view:
            done = os.pwrite(fd, view, offset)
            view, offset = view[done:], offset + done


def _remove_tree(path: Path) -> None:
    """Delete the folder and all in it; a file that another deleter removed first is fine."""
    for _ in range(3):
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            if not path.exists():
                return
            continue  # something under it went meanwhile: walk again
        return
    shutil.rmtree(path)
