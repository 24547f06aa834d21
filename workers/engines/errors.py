"""Errors engines raise. The worker decides what each means for the job, in one place."""

from __future__ import annotations


class EngineError(Exception):
    """An engine could not do its work. ``message`` is for people and holds no secrets."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableEngineError(EngineError):
    """A passing failure (rate limit, 5xx, timeout) that outlasted the engine's own retries.

    The worker retries the job later, after ``retry_after`` seconds when the provider said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentEngineError(EngineError):
    """A failure retrying cannot fix (bad key, rejected input, malformed answer)."""


class NoSpeech(PermanentEngineError):
    """The recording holds no speech (silence, tones, noise): the job fails with reason
    NO_SPEECH rather than making up words."""
