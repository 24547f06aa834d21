"""The consumer's handler: claims a job and decides, in this one place, what each outcome
means for the job and for the message."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import Any

from core import logs
from core.codec import stored_error_code
from core.errors import AudioError, Unavailable
from core.queue.base import Delivery, Retry
from core.runtime import Runtime
from workers import metrics
from workers.engines.errors import NoSpeech, PermanentEngineError, RetryableEngineError
from workers.engines.registry import Engines
from workers.live_pipeline import LiveAudioOpener, open_live_audio
from workers.pipeline import JobRun, LeaseLost

log = logging.getLogger(__name__)

#: Delay before another attempt when a provider gave no retry-after.
DEFAULT_RETRY_SECONDS = 5.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        engines: Engines,
        worker_id: str | None = None,
        *,
        live_audio: LiveAudioOpener = open_live_audio,
    ) -> None:
        self.rt = runtime
        self.engines = engines
        self.worker_id = worker_id or new_worker_id()
        #: Opens a live job's audio reader (the server's ``core.live_audio`` by default).
        self.live_audio = live_audio
        #: Tasks running a job now, so that a shutdown past its grace can cancel them.
        self.running: set[asyncio.Task[Any]] = set()

    async def handle(self, delivery: Delivery) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        try:
            with logs.bound(job_id=delivery.job_id):
                await self._handle(delivery)
        except Unavailable as exc:
            # The database (or the blob store) is down: touch nothing, try again later. The
            # job keeps its lease until it expires; then this message or the sweeper's
            # claims it again.
            metrics.JOBS_RETRIED.inc()
            raise Retry(exc.retry_after, exc.message) from exc
        finally:
            if task is not None:
                self.running.discard(task)

    async def _handle(self, delivery: Delivery) -> None:
        store = self.rt.store
        job = await store.claim(delivery.job_id, self.worker_id, self.rt.settings.lease_seconds)
        if job is None:
            return  # finished, cancelled, deleted or someone else's: the message is spent
        log.debug("job claimed (attempt %d)", job.attempts)
        if job.attempts > self.rt.settings.queue_max_attempts:
            await self._fail(
                job.id,
                "INTERNAL",
                "The job was tried too many times without "
                "finishing (its worker stopped each time).",
            )
            return
        started = time.monotonic()
        try:
            run = JobRun(self.rt, self.engines, job, self.worker_id, live_audio=self.live_audio)
            await run.run()
        except LeaseLost:
            log.info("job %s was cancelled or taken over; stopping", job.id)
            return
        except RetryableEngineError as exc:
            if delivery.final_attempt:
                await self._fail(
                    job.id,
                    "UNAVAILABLE",
                    f"{exc.message} (gave up after {delivery.attempt} attempts)",
                )
                return
            await store.release(job.id, self.worker_id)
            metrics.JOBS_RETRIED.inc()
            raise Retry(exc.retry_after or DEFAULT_RETRY_SECONDS, exc.message) from exc
        except AudioError as exc:
            await self._fail(job.id, "INVALID_ARGUMENT", exc.message)
            return
        except NoSpeech as exc:
            await self._fail(
                job.id, stored_error_code("INVALID_ARGUMENT", "NO_SPEECH"), exc.message
            )
            return
        except PermanentEngineError as exc:
            await self._fail(job.id, "INTERNAL", exc.message)
            return
        except Unavailable:
            raise
        except asyncio.CancelledError:
            # Shutting down: hand the job back so another worker starts it at once.
            await asyncio.shield(store.release(job.id, self.worker_id))
            raise
        except Exception:
            log.exception("job %s failed unexpectedly", job.id)
            await self._fail(
                job.id,
                "INTERNAL",
                "An internal error stopped the job; it has been logged for the operators.",
            )
            return
        metrics.JOBS_FINISHED.labels(state="completed").inc()
        metrics.JOB_SECONDS.observe(time.monotonic() - started)
        log.info("job completed in %.1f s", time.monotonic() - started)

    async def _fail(self, job_id: str, code: str, reason: str) -> None:
        recorded = await asyncio.shield(self.rt.store.fail(job_id, code, reason))
        await self.rt.publish_events(recorded)
        metrics.JOBS_FINISHED.labels(state="failed").inc()
