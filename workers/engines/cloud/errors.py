"""Provider failures translated into engine errors, once, with messages for people.

Every SDK exception that leaves an adapter goes through :func:`translate`. The message names
the provider and what went wrong in plain words; the provider's own text is kept (it often
says which parameter it refused) but passed through :func:`redact` first, because providers
echo part of a bad key back ("Incorrect API key provided: sk-abc...").
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterable, Mapping

import botocore.eventstream
import botocore.exceptions
import groq
import openai

from workers.engines.errors import EngineError, PermanentEngineError, RetryableEngineError

# Shapes of keys we know (OpenAI sk-..., Groq gsk_..., AWS access key ids) and bearer tokens.
_KEY_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-*]{6,}|gsk_[A-Za-z0-9*]{6,}|(?:AKIA|ASIA)[A-Z0-9]{12,}|"
    r"Bearer\s+[A-Za-z0-9._\-]+)"
)
_MAX_DETAIL = 300


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and anything shaped like a key replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_PATTERNS.sub("***", text)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a provider asked for: ``retry-after-ms``, ``retry-after`` (seconds or date)."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ms = lower.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None  # a header we cannot read is no instruction
    return max(0.0, parsed.timestamp() - time.time())


def _detail(text: str, secrets: Iterable[str]) -> str:
    text = redact(" ".join(text.split()), secrets)
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def from_status(
    provider: str,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None,
    secrets: Iterable[str] = (),
) -> EngineError:
    """An HTTP status from ``provider`` as the engine error a worker understands."""
    said = f" The provider said: {_detail(detail, secrets)}" if detail else ""
    if status == 429:
        return RetryableEngineError(
            f"{provider} is rate limiting us (HTTP 429).{said}",
            retry_after=retry_after_seconds(headers),
        )
    if status in (408, 409) or status >= 500:
        return RetryableEngineError(
            f"{provider} had a temporary failure (HTTP {status}).{said}",
            retry_after=retry_after_seconds(headers),
        )
    if status in (401, 403):
        return PermanentEngineError(
            f"{provider} refused our credentials (HTTP {status}); check the API key or the "
            f"IAM permissions.{said}"
        )
    if status == 404:
        return PermanentEngineError(
            f"{provider} does not know the model or endpoint (HTTP 404); check the model "
            f"setting.{said}"
        )
    if status == 413:
        return PermanentEngineError(f"{provider} refused the audio as too large (HTTP 413).{said}")
    return PermanentEngineError(f"{provider} rejected the request (HTTP {status}).{said}")


def _stainless(provider: str, exc: Exception, secrets: Iterable[str]) -> EngineError | None:
    """OpenAI's and Groq's SDKs share one generated shape; map both here."""
    if isinstance(exc, openai.APITimeoutError | groq.APITimeoutError):
        return RetryableEngineError(f"{provider} did not answer in time.")
    if isinstance(exc, openai.APIConnectionError | groq.APIConnectionError):
        return RetryableEngineError(f"Could not reach {provider}: the connection failed.")
    if isinstance(exc, openai.APIStatusError | groq.APIStatusError):
        headers = dict(exc.response.headers.items())
        return from_status(provider, exc.status_code, _body_message(exc.body), headers, secrets)
    if isinstance(exc, openai.APIResponseValidationError | groq.APIResponseValidationError):
        return PermanentEngineError(f"{provider} sent an answer we could not read.")
    if isinstance(exc, openai.APIError | groq.APIError):
        # An "error" event inside a stream: the SDK has no status for it; the provider's
        # streams use it for overload, which passes.
        return RetryableEngineError(
            f"{provider} reported an error mid-stream: {_detail(exc.message, secrets)}"
        )
    return None


def _body_message(body: object) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message", "") or "")
        return str(inner)
    return str(body) if body else ""


def _botocore(provider: str, exc: Exception, secrets: Iterable[str]) -> EngineError | None:
    if isinstance(exc, botocore.eventstream.ParserError):
        return PermanentEngineError(f"{provider} sent an event stream we could not read.")
    if isinstance(
        exc, botocore.exceptions.ReadTimeoutError | botocore.exceptions.ConnectTimeoutError
    ):
        return RetryableEngineError(f"{provider} did not answer in time.")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return PermanentEngineError(
            f"No AWS credentials were found for {provider}; set them in the environment, a "
            "profile or an instance role."
        )
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = str(error.get("Code", ""))
        # In-stream exception events name the code in lower camel case (throttlingException).
        code = code[:1].upper() + code[1:]
        status = int(meta.get("HTTPStatusCode", 0) or 0)
        message = f"{code}: {error.get('Message', '')}".strip(": ")
        if code in ("ThrottlingException", "TooManyRequestsException"):
            status = 429
        elif code in (
            "ServiceUnavailableException",
            "InternalServerException",
            "ModelStreamErrorException",
            "ModelNotReadyException",
        ):
            status = status if status >= 500 else 503
        elif not status:
            status = 400
        return from_status(provider, status, message, meta.get("HTTPHeaders"), secrets)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        # Connection resets, broken event streams, endpoint errors: all pass.
        return RetryableEngineError(f"Could not talk to {provider}: {type(exc).__name__}.")
    return None


def translate(provider: str, exc: BaseException, secrets: Iterable[str] = ()) -> EngineError:
    """Any exception from a provider call as an :class:`EngineError` (already ones pass)."""
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, TimeoutError):
        return RetryableEngineError(f"{provider} did not answer in time.")
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError):
        # JSON that does not parse, fields missing or of the wrong type.
        return PermanentEngineError(f"{provider} sent an answer we could not read.")
    if isinstance(exc, Exception):
        mapped = _stainless(provider, exc, secrets) or _botocore(provider, exc, secrets)
        if mapped is not None:
            return mapped
    return PermanentEngineError(
        f"{provider} failed in a way we did not expect ({type(exc).__name__})."
    )
