"""Prometheus metrics, served on the side port's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RPCS = Counter("consulta_rpcs_total", "gRPC calls by method and status code.", ["method", "code"])
RPC_SECONDS = Histogram("consulta_rpc_seconds", "gRPC call durations.", ["method"])
UPLOAD_BYTES = Counter("consulta_upload_bytes_total", "Audio bytes received by UploadAudio.")
JOBS_CREATED = Counter("consulta_jobs_created_total", "Jobs accepted.", ["source"])
WATCHERS = Gauge("consulta_watch_streams", "Open WatchJob streams.")
