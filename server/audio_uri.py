"""Which ``audio_uri`` a caller may have the server import (CreateJob).

The server reads with its own role, which can see more than any one caller should: the
service's own audio bucket holds every tenant's recordings. So a URI is imported only when it
lies under an entry of ``audio_uri_allowlist`` and outside the service's own audio prefix.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from core.errors import FieldViolation, InvalidArgument, PermissionDenied
from core.settings import Settings

# S3's bucket naming rules (lowercase letters, digits, dots and hyphens, 3 to 63 long).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def _not_supported(uri: str, why: str) -> InvalidArgument:
    return InvalidArgument(
        f"audio_uri {uri[:200]!r} is not an S3 object this server can import: {why}",
        reason="URI_NOT_SUPPORTED",
        violations=(FieldViolation("audio_uri", "Expected s3://bucket/key."),),
    )


def _as_prefix(entry: str) -> str:
    return entry if entry.endswith("/") else entry + "/"


def own_audio_prefix(settings: Settings) -> str | None:
    """``s3://bucket/prefix/`` where this service keeps audio, or None for a local folder."""
    parts = urlsplit(settings.resolved_blob_url)
    if parts.scheme != "s3":
        return None
    prefix = parts.path.strip("/")
    return f"s3://{parts.netloc}/" + (f"{prefix}/" if prefix else "")


def check_audio_uri(uri: str, settings: Settings) -> None:
    """Raise unless ``uri`` names an object the deployment lets callers import.

    INVALID_ARGUMENT (URI_NOT_SUPPORTED) for anything but a plain ``s3://bucket/key``;
    PERMISSION_DENIED (AUDIO_URI_NOT_ALLOWED) outside the allowlist or inside the service's
    own audio prefix.
    """
    parts = urlsplit(uri)
    key = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.scheme != "s3" or not parts.netloc or not key:
        raise _not_supported(uri, "expected s3://bucket/key")
    if not _BUCKET.match(parts.netloc):
        raise _not_supported(uri, "the bucket name is not a valid S3 bucket name")
    # A key with empty, '.' or '..' segments could be read differently by an S3-compatible
    # store than by the prefix comparison below.
    if parts.query or parts.fragment or "\x00" in key:
        raise _not_supported(uri, "no query, fragment or NUL is allowed")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise _not_supported(uri, "the key has an empty, '.' or '..' segment")
    normal = f"s3://{parts.netloc}/{key}"
    own = own_audio_prefix(settings)
    if own is not None and normal.startswith(own):
        raise PermissionDenied(
            "audio_uri points into this service's own audio store, which callers may not "
            "import from; upload the audio instead.",
            reason="AUDIO_URI_NOT_ALLOWED",
        )
    if not any(normal.startswith(_as_prefix(e)) for e in settings.audio_uri_allowlist):
        raise PermissionDenied(
            "audio_uri is outside the buckets and prefixes this deployment imports from "
            "(CONSULTA_AUDIO_URI_ALLOWLIST); upload the audio instead, or ask the operator "
            "to allow the location.",
            reason="AUDIO_URI_NOT_ALLOWED",
        )
