"""Builds the blob store that ``settings.resolved_blob_url`` names."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.blobstore.base import BlobStore
from core.settings import Settings


def build_blob_store(settings: Settings) -> BlobStore:
    """``file:///abs/path`` -> a local folder; ``s3://bucket/prefix`` -> S3.

    Neither connects here: the S3 store opens its client on first use, so this can run outside
    an event loop. Close the store with ``await store.aclose()``.
    """
    url = settings.resolved_blob_url
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"blob_url {url!r}: file URLs name a local folder (file:///path)")
        path = Path(unquote(parts.path))
        if not path.is_absolute():
            raise ValueError(f"blob_url {url!r}: the folder must be an absolute path")
        from core.blobstore.local import LocalBlobStore

        return LocalBlobStore(path, part_size=settings.local_part_size_bytes)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"blob_url {url!r}: name a bucket (s3://bucket/prefix)")
        from core.blobstore.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings, bucket=parts.netloc, prefix=parts.path)
    raise ValueError(f"blob_url {url!r}: expected file:///path or s3://bucket/prefix")
