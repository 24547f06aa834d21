"""Logging for every Consulta process: one set-up, text or JSON lines, and the call's context
on every line.

``setup_logging`` reads ``log_format`` (``text`` or ``json``) and ``log_level`` from
settings. The context (request id, RPC method, job id) lives in context variables: the
server's interceptor binds them for each call, the worker binds the job it runs, and a
filter copies them onto every record, whichever library wrote it.

Patient data never goes to logs. Libraries that can print it at their debug levels (SQL
statements with their parameters, AMQP frames, HTTP bodies) are held at WARNING whatever
``log_level`` says.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from core.settings import Settings

#: Fields every line carries (empty outside a call or a job).
CONTEXT_FIELDS = ("request_id", "method", "job_id")

_context: dict[str, ContextVar[str]] = {
    name: ContextVar(f"log_{name}", default="") for name in CONTEXT_FIELDS
}

#: Loggers that print statements, parameters or payloads at DEBUG/INFO.
QUIET_LOGGERS = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "aio_pika",
    "aiormq",
    "botocore",
    "boto3",
    "aiobotocore",
    "urllib3",
    "httpx",
    "httpcore",
    "openai",
    "groq",
    "faster_whisper",
    "aiohttp.access",
)

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"


def bind(**values: str) -> None:
    """Set context fields for the rest of the current task (an RPC or a job runs in its own
    task, so the values end with it)."""
    for name, value in values.items():
        _context[name].set(value)


@contextmanager
def bound(**values: str) -> Iterator[None]:
    """Set context fields for the ``with`` block only."""
    tokens = [(_context[name], _context[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current() -> dict[str, str]:
    """The context fields that are set."""
    return {name: var.get() for name, var in _context.items() if var.get()}


class ContextFilter(logging.Filter):
    """Copies the context fields onto each record (and a text suffix for the text format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current()
        for name in CONTEXT_FIELDS:
            setattr(record, name, fields.get(name, ""))
        record.context = (
            " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" if fields else ""
        )
        return True


class _JsonFormatter(JsonFormatter):
    """JSON lines without the text format's helper field and without empty context fields."""

    def process_log_record(self, log_data: dict[str, object]) -> dict[str, object]:
        log_data.pop("context", None)
        for name in CONTEXT_FIELDS:
            if not log_data.get(name):
                log_data.pop(name, None)
        return log_data


def build_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``settings.log_format`` lines with the context fields."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            _JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(ContextFilter())
    return handler


def setup_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Configure the root logger from settings; returns the handler (tests remove it)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "consulta", False)]:
        root.removeHandler(old)
    handler = build_handler(settings, stream)
    handler.consulta = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    quiet_libraries()
    return handler


def quiet_libraries() -> None:
    """Hold the libraries that can print patient data at WARNING."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
