"""Traces with OpenTelemetry: one trace follows a job from the RPC that accepted it, through
the job queue, to the worker's transcription and note.

- The gRPC server span comes from ``opentelemetry-instrumentation-grpc`` (its asyncio server
  interceptor, outermost in server/app.py); health checks are left out.
- Publishing a job opens a PRODUCER span and writes its W3C trace context (``traceparent``,
  ``tracestate``) into the message: AMQP headers on RabbitMQ, the delivery itself in process.
- The worker continues that context in a CONSUMER span per delivery, with one span per stage
  (``transcribe``, ``note``) inside it.

Spans carry ids, names, engine names and counts, never transcript or note text, tokens or
patient references.

Export is on only when ``otlp_endpoint`` is set (:func:`setup_tracing`, called by the
``serve`` and ``worker`` commands): spans then go in batches to an OpenTelemetry collector over
OTLP/gRPC. Otherwise no SDK is installed and the API's no-op tracer makes every span above a
cheap no-op; the trace headers are then left out of messages too. The gRPC server interceptor
is not even started then (:func:`tracing_enabled`): even with no SDK it cost a GetJob about 8%
of the event loop (profile: ``ProxyTracer.start_as_current_span``,
``OpenTelemetryServerInterceptor._start_span``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from core.settings import Settings

#: The instrumentation scope of Consulta's own spans.
TRACER_NAME = "consulta"


def tracer() -> trace.Tracer:
    """Consulta's tracer (the global provider's; a no-op until one is installed)."""
    return trace.get_tracer(TRACER_NAME)


def tracing_enabled(settings: Settings, provider: trace.TracerProvider | None = None) -> bool:
    """Whether this process records spans: an OTLP endpoint is configured, or an SDK tracer
    provider was installed some other way (tests keep spans in memory). ``provider``: the
    global one unless given."""
    if settings.otlp_endpoint:
        return True
    return isinstance(provider or trace.get_tracer_provider(), TracerProvider)


def build_tracer_provider(settings: Settings, service_name: str) -> TracerProvider | None:
    """A provider exporting to ``settings.otlp_endpoint`` over OTLP/gRPC; None when unset."""
    if not settings.otlp_endpoint:
        return None
    # Imported here: a process without an endpoint never loads the exporter.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    # An http:// endpoint means plaintext (a collector beside the process); https:// is TLS.
    exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def setup_tracing(settings: Settings, service_name: str) -> TracerProvider | None:
    """Install the exporting provider for this process when an endpoint is configured."""
    provider = build_tracer_provider(settings, service_name)
    if provider is not None:
        trace.set_tracer_provider(provider)
    return provider


async def flush_tracing(provider: TracerProvider | None, seconds: float) -> None:
    """Send the spans still batched before the process exits, waiting at most ``seconds``."""
    if provider is None:
        return
    timeout_ms = max(1, int(seconds * 1000))
    await asyncio.to_thread(provider.force_flush, timeout_ms)


@contextmanager
def producer_span(destination: str, job_id: str) -> Iterator[dict[str, str]]:
    """A PRODUCER span for publishing "look at ``job_id``" to ``destination``; yields the
    trace context to put in the message (empty when tracing is off)."""
    attributes: dict[str, AttributeValue] = {
        "messaging.operation.type": "send",
        "messaging.destination.name": destination,
        "consulta.job_id": job_id,
    }
    with tracer().start_as_current_span(
        f"send {destination}", kind=SpanKind.PRODUCER, attributes=attributes
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier


@contextmanager
def consumer_span(
    destination: str, carrier: Mapping[str, str], attributes: Mapping[str, AttributeValue]
) -> Iterator[Span]:
    """A CONSUMER span for one delivery, child of the trace context the producer sent."""
    parent = propagate.extract(dict(carrier))
    with tracer().start_as_current_span(
        f"process {destination}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={"messaging.operation.type": "process", **attributes},
    ) as span:
        yield span


@contextmanager
def stage_span(name: str, attributes: Mapping[str, AttributeValue]) -> Iterator[Span]:
    """A span for one stage of a job (``transcribe``, ``note``) under the current span."""
    with tracer().start_as_current_span(name, attributes=attributes) as span:
        yield span


def trace_headers(headers: Mapping[str, object]) -> dict[str, str]:
    """The W3C trace-context fields among a message's headers (AMQP headers may hold bytes)."""
    found: dict[str, str] = {}
    for name in ("traceparent", "tracestate"):
        value = headers.get(name)
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if isinstance(value, str) and value:
            found[name] = value
    return found
