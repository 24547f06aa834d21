"""The Realtime API's side of a live OpenAI session: connecting, the session it asks for, and
what its errors mean.

- :func:`connect` opens ``<base>/realtime?intent=transcription`` through the SDK and turns a
  refused handshake into the engine error the batch adapter would raise for the same HTTP
  status (429 and 5xx retryable, with ``retry-after``; 401/403 permanent ...).
- :func:`transcription_session` is the ``session.update`` payload.
- :func:`error_event` reads an ``error`` event (or a failed transcription): passing failures
  become :class:`Interrupted`, which the session answers with a new connection; the rest
  become a :class:`PermanentEngineError` with the provider's message, scrubbed of keys.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import openai
from openai.types.realtime import RealtimeTranscriptionSessionCreateRequestParam
from openai.types.realtime.audio_transcription_param import AudioTranscriptionParam
from websockets.exceptions import InvalidHandshake, InvalidStatus

from workers.engines.base import TranscribeOptions
from workers.engines.cloud.errors import from_status, redact
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.transcribers.openai import vocabulary_prompt

if TYPE_CHECKING:
    from openai.resources.realtime.realtime import AsyncRealtimeConnection

PROVIDER = "OpenAI"
#: Server VAD: audio kept before detected speech, and the silence that ends a turn.
PREFIX_PADDING_MS = 300
SILENCE_DURATION_MS = 500
#: Error types and codes that pass: a new connection may succeed.
_PASSING = {"server_error", "rate_limit_exceeded", "session_expired"}


class Interrupted(Exception):
    """The connection ended (or must end) before the session did; a new one takes over."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


async def connect(
    client: openai.AsyncOpenAI, *, within: float, secrets: tuple[str, ...]
) -> AsyncRealtimeConnection:
    """A transcription connection within ``within`` seconds, or the EngineError of a refused
    or failed handshake."""
    try:
        async with asyncio.timeout(within):
            manager = client.realtime.connect(extra_query={"intent": "transcription"})
            return await manager.enter()
    except TimeoutError as exc:
        raise RetryableEngineError(
            f"{PROVIDER} did not accept the live connection within {within:g} s."
        ) from exc
    except InvalidStatus as exc:
        response = exc.response
        headers = dict(response.headers.raw_items())
        detail = _body_message(response.body)
        raise from_status(PROVIDER, response.status_code, detail, headers, secrets) from exc
    except (OSError, InvalidHandshake) as exc:
        raise RetryableEngineError(
            f"Could not reach {PROVIDER}'s Realtime API: the connection failed."
        ) from exc


def transcription_session(
    model: str, options: TranscribeOptions
) -> RealtimeTranscriptionSessionCreateRequestParam:
    """A transcription session: 24 kHz PCM16 in, ``model``, language, vocabulary prompt,
    server VAD."""
    transcription: AudioTranscriptionParam = {"model": model}
    if options.language:
        transcription["language"] = options.language.split("-")[0].lower()
    prompt = vocabulary_prompt(options.vocabulary)
    if prompt:
        transcription["prompt"] = prompt
    return {
        "type": "transcription",
        "audio": {
            "input": {
                # The only PCM rate the API takes (realtime_turns.PCM_RATE).
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": transcription,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": PREFIX_PADDING_MS,
                    "silence_duration_ms": SILENCE_DURATION_MS,
                },
            }
        },
    }


def error_event(
    kind: str, code: str, message: str, secrets: tuple[str, ...]
) -> Interrupted | PermanentEngineError:
    """What an ``error`` event of type ``kind`` and ``code`` means for the session."""
    detail = redact(" ".join(message.split()), secrets)[:300]
    label = ", ".join(p for p in (kind, code) if p)
    if kind in _PASSING or code in _PASSING:
        return Interrupted(f"{label}: {detail}")
    return PermanentEngineError(
        f"{PROVIDER} refused the live transcription ({label}). The provider said: {detail}"
    )


def _body_message(body: bytes | bytearray | None) -> str:
    if not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    inner = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    if isinstance(inner, dict):
        return str(inner.get("message", "") or "")
    return str(inner)
