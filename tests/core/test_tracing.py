"""Tracing set-up: off without an endpoint, spans exported over OTLP/gRPC with one (to a real
gRPC receiver on loopback), and trace context read back from AMQP-style headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider

from core.settings import Settings
from core.tracing import build_tracer_provider, flush_tracing, trace_headers, tracing_enabled
from server.app import tracing_interceptors


class Receiver(otlp_grpc.TraceServiceServicer):
    """An OTLP trace collector that keeps what it receives."""

    def __init__(self) -> None:
        self.requests: list[otlp.ExportTraceServiceRequest] = []

    async def Export(
        self, request: otlp.ExportTraceServiceRequest, context: Any
    ) -> otlp.ExportTraceServiceResponse:
        self.requests.append(request)
        return otlp.ExportTraceServiceResponse()


def test_no_endpoint_means_no_provider(tmp_path: Path) -> None:
    assert build_tracer_provider(Settings(data_dir=tmp_path), "consulta-test") is None


def test_the_server_traces_only_when_tracing_is_configured(tmp_path: Path) -> None:
    off = Settings(data_dir=tmp_path)
    # The API's own providers record nothing: no server interceptor then (its cost was ~8%
    # of a GetJob's event loop with no SDK installed).
    assert not tracing_enabled(off, ProxyTracerProvider())
    assert not tracing_enabled(off, NoOpTracerProvider())
    # An SDK provider installed by other means (the tests' in-memory one) records spans.
    assert tracing_enabled(off, TracerProvider())
    on = Settings(data_dir=tmp_path, otlp_endpoint="http://127.0.0.1:4317")
    assert tracing_enabled(on, ProxyTracerProvider())
    [interceptor] = tracing_interceptors(on)
    assert isinstance(interceptor, grpc.aio.ServerInterceptor)
    assert type(interceptor).__name__ == "OpenTelemetryAioServerInterceptor"


async def test_spans_are_exported_over_otlp_when_an_endpoint_is_set(tmp_path: Path) -> None:
    receiver = Receiver()
    server = grpc.aio.server()
    otlp_grpc.add_TraceServiceServicer_to_server(receiver, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        settings = Settings(data_dir=tmp_path, otlp_endpoint=f"http://127.0.0.1:{port}")
        provider = build_tracer_provider(settings, "consulta-test")
        assert provider is not None
        with provider.get_tracer("test").start_as_current_span("transcribe"):
            pass
        # The batch exporter sends from its own thread; flushing waits for it.
        await flush_tracing(provider, 10)
        provider.shutdown()
    finally:
        await server.stop(None)
    spans = [
        (resource.resource, span.name)
        for request in receiver.requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [name for _, name in spans] == ["transcribe"]
    attributes = {a.key: a.value.string_value for a in spans[0][0].attributes}
    assert attributes["service.name"] == "consulta-test"


def test_trace_headers_keep_only_the_w3c_fields_as_text() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers: dict[str, object] = {
        "traceparent": parent.encode(),
        "tracestate": "vendor=1",
        "x-consulta-attempt": 2,
    }
    assert trace_headers(headers) == {"traceparent": parent, "tracestate": "vendor=1"}
    assert trace_headers({}) == {}
