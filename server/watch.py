"""WatchJob: a snapshot, then every event after the client's sequence, with no gap or repeat.

The database's event log is the truth; the bus only brings events sooner. The stream
subscribes before it reads, so an event is either in what it reads or in what the bus
brings. It reads the log:

- once after the snapshot;
- when the bus shows a gap in sequence numbers (a lost or dropped message);
- when the bus's delivery for the job was (re)established (a new ``generation``), since what
  was published while it was down never came;
- every ``watch_poll_seconds`` while the bus is down, so a stream opened during a broker
  outage works from the database alone;
- every ``watch_check_seconds`` while the bus is up but quiet, in case a publish was lost,
  and to notice a deleted job.

Sequence numbers decide what is new, so switching between the log and the bus never repeats
or skips an event. The stream ends at the job's terminal event, or at once when the client
already has it (``after_sequence`` at or past the end of a finished job).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

from consulta.v1 import transcription_service_pb2 as pb

from core.auth import Principal
from core.codec import is_terminal_event, job_to_pb
from core.db.models import JobRow
from core.domain import JobState
from core.errors import InvalidArgument, NotFound
from core.events.base import LinkChanged
from core.runtime import Runtime
from server import metrics

#: How long a new stream waits for the bus to deliver its job before it reads the log; the
#: bus being down or slow makes it read the log and poll instead, never fail.
LIVE_WAIT_SECONDS = 1.0
#: Events read from the log per query.
PAGE = 500


@functools.lru_cache(maxsize=64)
def live_response(event: bytes) -> tuple[pb.WatchJobResponse, bool]:
    """The response carrying a serialized event from the bus, and whether the event ends the
    job. The bus hands the same bytes object to every subscription of the job, so the event
    is parsed and its response built once per event rather than once per watcher (the bytes'
    hash is computed once and kept by the object). Every stream yields the same message: no
    one changes a response after it is yielded."""
    response = pb.WatchJobResponse(event=pb.JobEvent.FromString(event))
    return response, is_terminal_event(response.event)


async def watch_job(  # noqa: C901 - one loop owns the sequence bookkeeping of log and bus
    runtime: Runtime,
    principal: Principal,
    job_id: str,
    after_sequence: int,
) -> AsyncIterator[pb.WatchJobResponse]:
    if after_sequence < 0:
        raise InvalidArgument("after_sequence must not be negative.", reason="MALFORMED_FIELD")
    settings = runtime.settings
    metrics.WATCHERS.inc()
    try:
        async with runtime.bus.subscribe(job_id) as subscription:
            await subscription.wait_live(LIVE_WAIT_SECONDS)
            # Read after subscribing, so nothing falls between the snapshot and the live
            # events; NotFound (also for someone else's job) ends the stream here.
            snapshot = await runtime.store.get_visible(job_id, principal)
            yield pb.WatchJobResponse(snapshot=job_to_pb(snapshot))
            last = after_sequence
            if JobState(snapshot.state).terminal and last >= snapshot.event_seq:
                return
            synced = subscription.generation if subscription.live else -1
            read_log, check_job = True, False
            job: JobRow | None = None
            while True:
                if read_log:
                    if check_job:
                        job = await runtime.store.get(job_id)
                        if job is None:
                            raise NotFound(f"Job {job_id} was deleted.", reason="JOB_NOT_FOUND")
                    # Everything the log holds after `last`, in order.
                    while True:
                        rows = await runtime.store.events_after(job_id, last, limit=PAGE)
                        for row in rows:
                            event = pb.JobEvent.FromString(row.payload)
                            last = event.sequence
                            yield pb.WatchJobResponse(event=event)
                            if is_terminal_event(event):
                                return
                        if len(rows) < PAGE:
                            break
                    # The job read before the log was terminal and the log has nothing newer:
                    # the client is past the end (after_sequence beyond the last event).
                    if job is not None and JobState(job.state).terminal and last >= job.event_seq:
                        return
                    read_log, check_job, job = False, False, None
                live = subscription.live
                wait = settings.watch_check_seconds if live else settings.watch_poll_seconds
                received = await subscription.receive(wait)
                if subscription.live and subscription.generation != synced:
                    # Delivery is (back) on: what was published before it is in the log.
                    synced = subscription.generation
                    read_log = True
                if received is None:  # quiet: read the log, and look at the job itself
                    read_log = check_job = True
                elif isinstance(received, LinkChanged):
                    continue
                else:
                    response, terminal = live_response(received)
                    sequence = response.event.sequence
                    if sequence <= last:
                        if terminal:
                            return  # the client is past the end and the job just finished
                        continue
                    if sequence > last + 1:
                        read_log = True  # a gap: the log fills it
                        continue
                    last = sequence
                    yield response
                    if terminal:
                        return
    finally:
        metrics.WATCHERS.dec()
