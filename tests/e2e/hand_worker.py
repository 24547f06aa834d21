"""The test plays the worker: it claims a job and records events through the real store and
bus, so a test decides exactly when each event happens (as bench/relay.py does).

Deployments for it run no worker, so nothing else claims the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from app.processes import start_server
from core.codec import note_delta_event, state_event
from core.domain import JobState
from core.runtime import Runtime
from core.settings import Settings
from tests.e2e.deployment import Deployment
from tests.e2e.test_jobs import DIALOGUE


async def deployment_without_workers(kind: str, settings: Settings) -> Deployment:
    """A server (embedded or scaled-out shape) whose jobs stay QUEUED until claimed by hand."""
    server = await start_server(settings, run_worker=False)
    return Deployment(kind=kind, settings=settings, servers=[server])


@dataclass
class HandWorker:
    runtime: Runtime
    job_id: str
    name: str = "hand-worker"

    async def claim(self, lease_seconds: float = 120) -> None:
        claimed = await self.runtime.store.claim(self.job_id, self.name, lease_seconds)
        assert claimed is not None, "the job was claimed by someone else"

    async def emit(
        self,
        events: Sequence[pb.JobEvent],
        state: JobState | None = None,
        *,
        lease_seconds: float = 120,
    ) -> None:
        """Store the events (the truth) and publish them (which may fail: the bus is down)."""
        recorded = await self.runtime.store.record(
            self.job_id, self.name, events, lease_seconds=lease_seconds, state=state
        )
        assert recorded is not None, "the job is no longer ours"
        await self.runtime.publish_events(recorded)

    async def deltas(self, count: int) -> None:
        for n in range(count):
            await self.emit([note_delta_event("plan", f"delta {n}\n")])

    async def finish(self) -> None:
        await self.emit([state_event(JobState.COMPLETED)], state=JobState.COMPLETED)


async def queued_job(deployment: Deployment) -> job_pb2.Job:
    """A text job that no worker picks up (the deployment has none)."""
    response = await deployment.stub().CreateJob(
        pb.CreateJobRequest(transcript_text=DIALOGUE), metadata=deployment.auth()
    )
    return response.job
