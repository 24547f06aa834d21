"""A blob store on S3 or an S3-compatible store (SeaweedFS, MinIO), through aioboto3.

Uploads are S3 multipart uploads: the server sends parts of ``part_size`` bytes (at least
5 MiB, S3's minimum for all parts but the last) and S3 joins them on completion, so no
process ever holds a whole file. Server-side encryption (``AES256`` or ``aws:kms`` with a key
id) is requested on every write: multipart creation, put and copy. Keys are stored under the
prefix of the ``s3://bucket/prefix`` URL.

One client is opened on first use and kept for the store's life (its connection pool is what
makes parts fast); ``aclose()`` closes it. Credentials come from the standard AWS chain
(environment, profile, instance role) unless given explicitly (``s3_access_key_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from posixpath import normpath
from typing import Any
from urllib.parse import urlsplit

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from core.blobstore.base import BlobStore, Part
from core.errors import ConsultaError, InvalidArgument, NotFound, Unavailable
from core.settings import Settings

MIN_PART_SIZE = 5 << 20
#: Largest object one CopyObject call can copy; larger needs a multipart copy.
MAX_COPY_SIZE = 5 << 30
_NOT_FOUND = {"NoSuchKey", "NoSuchUpload", "NotFound", "404"}
_SSE_MODES = {"", "AES256", "aws:kms"}

log = logging.getLogger(__name__)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: ClientError | BotoCoreError, what: str) -> ConsultaError:
    """A library error as the domain error a caller can act on.

    The SDK's own text (request ids, regexes, endpoint names) never goes into the message: it
    is logged here with the error's code, and the caller gets a sentence about ``what``.
    """
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code in _NOT_FOUND:
            return NotFound(f"{what} does not exist")
        if code in {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "InvalidArgument"}:
            return InvalidArgument(f"{what} was refused by the store as malformed ({code}).")
        if code == "NoSuchBucket":
            return Unavailable(f"the audio bucket is missing ({what})", reason="BUCKET_MISSING")
        log.warning("S3 error %s on %s", code or "without a code", what)
    elif isinstance(exc, ParamValidationError):
        return InvalidArgument(
            f"{what} is not a valid S3 location (bucket or key name).", reason="BAD_S3_LOCATION"
        )
    else:
        log.warning("S3 client error %s on %s", type(exc).__name__, what)
    return Unavailable(f"The audio store failed ({what}); try again shortly.")


@contextlib.contextmanager
def _translating(what: str) -> Iterator[None]:
    """Run an S3 call, turning the library's errors into domain errors about ``what``.

    The one place every call of this store goes through, so that no boto exception leaks
    past this module (domain errors raised inside pass through untouched)."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, what) from exc


class S3BlobStore(BlobStore):
    """Objects at ``s3://<bucket>/<prefix><key>``."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key: str = "",
        secret_key: str = "",
        sse: str = "",
        kms_key_id: str = "",
        part_size: int = 8 << 20,
        create_bucket: bool = False,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 parts must be at least {MIN_PART_SIZE} bytes")
        if sse not in _SSE_MODES:
            raise ValueError(f"s3_sse must be one of {sorted(_SSE_MODES)}, not {sse!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.part_size = part_size
        self.create_bucket = create_bucket
        self._session = aioboto3.Session(
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
        )
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, bucket: str, prefix: str) -> S3BlobStore:
        return cls(
            bucket=bucket,
            prefix=prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key_id,
            secret_key=settings.s3_secret_access_key,
            sse=settings.s3_sse,
            kms_key_id=settings.s3_kms_key_id,
            part_size=settings.s3_part_size_bytes,
            create_bucket=settings.s3_create_bucket,
        )

    # -- client --------------------------------------------------------------------------------

    async def _s3(self) -> Any:
        """The store's client, opened (and the bucket made, when asked) on first use."""
        async with self._lock:
            if self._client is not None:
                return self._client
            config = Config(
                signature_version="s3v4",
                # S3-compatible servers answer on one host: bucket in the path, not the name.
                s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            )
            client = await self._stack.enter_async_context(
                self._session.client("s3", endpoint_url=self.endpoint_url or None, config=config)
            )
            try:
                if self.create_bucket:
                    with _translating(f"bucket {self.bucket}"):
                        await self._ensure_bucket(client)
            except ConsultaError:
                await self._stack.aclose()
                raise
            self._client = client
            return client

    async def _ensure_bucket(self, client: Any) -> None:
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise
        extra: dict[str, Any] = {}
        if self.region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            await client.create_bucket(Bucket=self.bucket, **extra)
        except ClientError as exc:
            # Another process made it first.
            if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    def _key(self, key: str) -> str:
        """The object key of ``key``; InvalidArgument for keys that could leave the prefix."""
        parts = key.split("/")
        if (
            not key
            or key.startswith("/")
            or "\x00" in key
            or any(p in ("", ".", "..") for p in parts)
            or normpath(key) != key
        ):
            raise InvalidArgument(f"invalid blob key {key!r}: must be a relative path")
        return self.prefix + key

    def _sse_args(self) -> dict[str, str]:
        if not self.sse:
            return {}
        args = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args

    # -- multipart ---------------------------------------------------------------------------

    async def start_multipart(self, key: str) -> str:
        object_key = self._key(key)
        s3 = await self._s3()
        with _translating(f"upload of {key}"):
            created = await s3.create_multipart_upload(
                Bucket=self.bucket, Key=object_key, **self._sse_args()
            )
        return str(created["UploadId"])

    async def upload_part(self, key: str, handle: str, number: int, data: bytes) -> Part:
        object_key = self._key(key)
        if not 1 <= number <= 10000:
            raise InvalidArgument(f"part numbers run from 1 to 10000, got {number}")
        s3 = await self._s3()
        with _translating(f"upload of {key}"):
            uploaded = await s3.upload_part(
                Bucket=self.bucket, Key=object_key, UploadId=handle, PartNumber=number, Body=data
            )
        return Part(number=number, token=str(uploaded["ETag"]))

    async def complete_multipart(self, key: str, handle: str, parts: list[Part]) -> None:
        object_key = self._key(key)
        numbers = [p.number for p in parts]
        if not parts or numbers != sorted(set(numbers)):
            raise InvalidArgument("parts must be listed once each, in ascending order")
        s3 = await self._s3()
        with _translating(f"upload of {key}"):
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=object_key,
                UploadId=handle,
                MultipartUpload={
                    "Parts": [{"PartNumber": p.number, "ETag": p.token} for p in parts]
                },
            )

    async def abort_multipart(self, key: str, handle: str) -> None:
        object_key = self._key(key)
        s3 = await self._s3()
        with _translating(f"upload of {key}"):
            try:
                await s3.abort_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=handle)
            except ClientError as exc:
                if _code(exc) in _NOT_FOUND:
                    return  # already aborted or completed
                raise

    # -- whole objects -----------------------------------------------------------------------

    async def put(self, key: str, data: bytes) -> None:
        object_key = self._key(key)
        s3 = await self._s3()
        with _translating(f"object {key}"):
            await s3.put_object(Bucket=self.bucket, Key=object_key, Body=data, **self._sse_args())

    async def compose(self, keys: Sequence[str], key: str) -> int:
        """A multipart upload built by streaming the sources: every part but the last holds
        ``part_size`` bytes (at least 5 MiB, as S3 requires), so memory holds one part and
        one source chunk at most. Sources smaller than a part (a live upload's segments)
        cannot be copied server-side as parts, hence the stream."""
        if not keys:
            await self.put(key, b"")
            return 0
        handle = await self.start_multipart(key)
        parts: list[Part] = []
        buffer = bytearray()
        size = 0
        try:
            for source in keys:
                async for chunk in self.iter_bytes(source):
                    buffer += chunk
                    size += len(chunk)
                    while len(buffer) >= self.part_size:
                        with memoryview(buffer) as view:
                            part = bytes(view[: self.part_size])
                        del buffer[: self.part_size]
                        parts.append(await self.upload_part(key, handle, len(parts) + 1, part))
            if buffer or not parts:
                parts.append(await self.upload_part(key, handle, len(parts) + 1, bytes(buffer)))
            await self.complete_multipart(key, handle, parts)
        except BaseException:
            await asyncio.shield(self.abort_multipart(key, handle))
            raise
        return size

    async def read(self, key: str, offset: int, length: int) -> bytes:
        object_key = self._key(key)
        if length <= 0:
            return b""
        s3 = await self._s3()
        with _translating(f"object {key}"):
            try:
                got = await s3.get_object(
                    Bucket=self.bucket,
                    Key=object_key,
                    Range=f"bytes={offset}-{offset + length - 1}",
                )
            except ClientError as exc:
                if _code(exc) == "InvalidRange":
                    return b""  # at or past the end
                raise
            body = got["Body"]
            async with body:
                return bytes(await body.read())

    async def iter_bytes(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        object_key = self._key(key)
        s3 = await self._s3()
        with _translating(f"object {key}"):
            got = await s3.get_object(Bucket=self.bucket, Key=object_key)
        body = got["Body"]
        # The StreamingBody itself, not what its ``async with`` returns, reads by size.
        async with body:
            while True:
                try:
                    chunk = await body.read(chunk_size)
                except (ClientError, BotoCoreError, OSError) as exc:
                    raise Unavailable(f"S3 stopped sending object {key}: {exc}") from exc
                if not chunk:
                    return
                yield chunk

    async def size(self, key: str) -> int:
        object_key = self._key(key)
        s3 = await self._s3()
        with _translating(f"object {key}"):
            head = await s3.head_object(Bucket=self.bucket, Key=object_key)
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        object_key = self._key(key)
        s3 = await self._s3()
        with _translating(f"object {key}"):
            # S3 answers 204 whether or not the object existed.
            await s3.delete_object(Bucket=self.bucket, Key=object_key)

    async def delete_folder(self, folder: str) -> None:
        prefix = self._key(folder) + "/"
        s3 = await self._s3()
        with _translating(f"folder {folder}"):
            while True:
                # Listing again after each batch: what was deleted no longer shows.
                listed = await s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1000)
                keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
                if not keys:
                    return
                answer = await s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                if answer.get("Errors"):
                    raise Unavailable(
                        f"S3 kept {len(answer['Errors'])} objects of folder {folder}: "
                        f"{answer['Errors'][0].get('Code', 'error')}"
                    )

    async def import_uri(self, uri: str, key: str) -> int:
        """Copy ``s3://bucket/key`` server-side: the bytes never pass through this process."""
        object_key = self._key(key)
        source = urlsplit(uri)
        source_key = source.path.lstrip("/")
        if source.scheme != "s3" or not source.netloc or not source_key:
            raise InvalidArgument(
                f"cannot import {uri!r}: expected s3://bucket/key", reason="URI_NOT_SUPPORTED"
            )
        s3 = await self._s3()
        what = f"object {uri}"
        with _translating(what):
            try:
                head = await s3.head_object(Bucket=source.netloc, Key=source_key)
                size = int(head["ContentLength"])
                if size > MAX_COPY_SIZE:
                    raise InvalidArgument(f"{uri} is larger than 5 GiB; upload it instead")
                await s3.copy_object(
                    Bucket=self.bucket,
                    Key=object_key,
                    CopySource={"Bucket": source.netloc, "Key": source_key},
                    **self._sse_args(),
                )
            except ClientError as exc:
                # A bucket we may not read looks the same as one that does not exist.
                if _code(exc) in {"403", "AccessDenied", "NoSuchBucket"}:
                    raise NotFound(f"{what} does not exist or cannot be read") from exc
                raise
        return size

    async def presign_get(self, key: str, expires_seconds: int = 300) -> str | None:
        object_key = self._key(key)
        s3 = await self._s3()
        url = await s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": object_key},
            ExpiresIn=expires_seconds,
        )
        return str(url)

    async def aclose(self) -> None:
        async with self._lock:
            self._client = None
            await self._stack.aclose()
