"""Spans kept in memory for tests: one SDK provider for the test process, installed once
(OpenTelemetry allows setting the global provider only once), read through its exporter."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_exporter: InMemorySpanExporter | None = None


def span_exporter() -> InMemorySpanExporter:
    """The process's in-memory exporter, installing its provider on first use."""
    global _exporter
    if _exporter is None:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        # Simple, not batched: a span is readable as soon as it ends.
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        assert trace.get_tracer_provider() is provider, "another tracer provider was installed"
        _exporter = exporter
    return _exporter


def attribute_texts(spans: Sequence[ReadableSpan]) -> list[str]:
    """Every string in the spans' names, attributes, event attributes and statuses."""
    texts: list[str] = []
    for span in spans:
        texts.append(span.name)
        bags = [span.attributes or {}, *[event.attributes or {} for event in span.events]]
        for bag in bags:
            for value in bag.values():
                items = value if isinstance(value, (list, tuple)) else [value]
                texts.extend(str(item) for item in items)
        if span.status.description:
            texts.append(span.status.description)
    return texts
