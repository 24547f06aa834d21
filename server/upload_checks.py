"""The rules every UploadAudio stream follows, batch or live: a valid config first, chunks of at
most 1 MiB at the offset that follows the bytes received, within the size limit, and a last
chunk that sets ``finish``."""

from __future__ import annotations

from dataclasses import dataclass

from consulta.v1 import transcription_service_pb2 as pb

from core.errors import FieldViolation, InvalidArgument, OutOfRange
from core.settings import Settings
from server.validation import (
    MAX_FILENAME,
    MAX_MIME_TYPE,
    job_config_violations,
    length_violations,
    raise_if,
    sha256_violations,
)

MAX_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Chunk:
    """A checked chunk's bytes, read from the message once: each read of a protobuf bytes
    field makes a new copy (a 1 MiB chunk read five times was 0.2 ms of the event loop per
    MiB; bench/results/profile-upload-before-4.txt)."""

    data: bytes
    finish: bool


def check_chunk(
    message: pb.UploadAudioRequest,
    received: int,
    limit: int,
    upload_id: str,
    committed: int,
    *,
    declared: bool = False,
) -> Chunk:
    """The message's chunk when it may follow ``received`` bytes; the caller's error
    otherwise (naming ``committed``, where a resume starts)."""
    if message.WhichOneof("request") != "chunk":
        raise InvalidArgument(
            "`config` may only be the first message of an upload.",
            reason="CONFIG_TWICE",
            violations=(FieldViolation("config", "Only allowed in the first message."),),
        )
    chunk = message.chunk
    data = chunk.data
    if len(data) > MAX_CHUNK_BYTES:
        raise InvalidArgument(
            f"A chunk holds at most {MAX_CHUNK_BYTES} bytes (got {len(data)}).",
            reason="CHUNK_TOO_LARGE",
            violations=(FieldViolation("chunk.data", "At most 1 MiB."),),
        )
    if chunk.offset != received:
        raise InvalidArgument(
            f"Chunk offset {chunk.offset} does not follow the bytes received "
            f"({received}); resume upload {upload_id} from offset {committed}.",
            reason="OFFSET_MISMATCH",
            violations=(FieldViolation("chunk.offset", f"Expected {received}."),),
        )
    if received + len(data) > limit:
        raise OutOfRange(
            f"The audio passes {limit} bytes, the "
            + ("declared size." if declared else "largest taken."),
            reason="AUDIO_TOO_LARGE",
        )
    return Chunk(data, chunk.finish)


def incomplete(upload_id: str, committed: int) -> InvalidArgument:
    """The error of a stream that ended without a chunk setting ``finish``."""
    return InvalidArgument(
        f"The stream ended without a chunk that sets `finish`; resume upload "
        f"{upload_id} from offset {committed}.",
        reason="UPLOAD_INCOMPLETE",
    )


def check_config(config: pb.UploadConfig, settings: Settings) -> None:
    """The upload's config: its job's fields, no size or digest on a live upload, a size
    within this deployment's limit."""
    violations = job_config_violations(config.job, settings, "config.job")
    if config.live:
        # Not known while a visit is being recorded.
        for name, value in (
            ("sha256", config.sha256),
            ("declared_size_bytes", config.declared_size_bytes),
        ):
            if value:
                violations.append(
                    FieldViolation(f"config.{name}", "Must not be set for a live upload.")
                )
    violations += sha256_violations(config.sha256, "config.sha256")
    if config.declared_size_bytes < 0:
        violations.append(FieldViolation("config.declared_size_bytes", "Must not be negative."))
    violations += length_violations(config.filename, "config.filename", MAX_FILENAME)
    violations += length_violations(config.mime_type, "config.mime_type", MAX_MIME_TYPE)
    raise_if(violations)
    if config.declared_size_bytes > settings.max_audio_bytes:
        raise OutOfRange(
            f"The audio is {config.declared_size_bytes} bytes; this deployment takes at "
            f"most {settings.max_audio_bytes}.",
            reason="AUDIO_TOO_LARGE",
        )
