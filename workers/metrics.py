"""Worker and sweeper metrics (Prometheus)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS_FINISHED = Counter("consulta_jobs_finished_total", "Jobs a worker ended.", ["state"])
JOB_SECONDS = Histogram(
    "consulta_job_seconds", "Time from claim to end of a job.", buckets=(1, 5, 15, 60, 300, 1800)
)
JOBS_RETRIED = Counter("consulta_jobs_retried_total", "Jobs sent back for a later attempt.")
REPUBLISHED = Counter(
    "consulta_sweeper_republished_total",
    "Jobs the sweeper published again: 'queued' (never picked up) or 'expired' (worker died).",
    ["kind"],
)
UPLOADS_EXPIRED = Counter(
    "consulta_uploads_expired_total", "Abandoned uploads the sweeper aborted."
)
