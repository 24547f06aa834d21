"""WatchJob: a snapshot, then every event after the client's sequence, with no gap or repeat.

The database's event log is the truth; the bus only wakes us early. The stream subscribes
before it reads, so an event is either in what it reads or in what the bus brings; a gap in
sequence numbers (a lost or reordered message) is filled from the log, and a quiet bus is
covered by reading the log every ``poll_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from consulta.v1 import transcription_service_pb2 as pb

from core.auth import Principal
from core.codec import is_terminal_event, job_to_pb
from core.domain import JobState
from core.errors import InvalidArgument, NotFound
from core.runtime import Runtime
from server import metrics

#: How long a stream trusts a quiet bus before it reads the log itself.
POLL_SECONDS = 2.0


async def _pump(source: AsyncIterator[bytes], sink: asyncio.Queue[bytes]) -> None:
    async for item in source:
        await sink.put(item)


async def watch_job(
    runtime: Runtime,
    principal: Principal,
    job_id: str,
    after_sequence: int,
    *,
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[pb.WatchJobResponse]:
    if after_sequence < 0:
        raise InvalidArgument("after_sequence must not be negative.", reason="MALFORMED_FIELD")
    metrics.WATCHERS.inc()
    live: asyncio.Queue[bytes] = asyncio.Queue()
    try:
        async with runtime.bus.subscribe(job_id) as events:
            pump = asyncio.create_task(_pump(events, live))
            try:
                # Read after subscribing, so nothing falls between the snapshot and the live
                # events; NotFound (also for someone else's job) ends the stream here.
                snapshot = await runtime.store.get_visible(job_id, principal)
                yield pb.WatchJobResponse(snapshot=job_to_pb(snapshot))
                last = after_sequence
                if JobState(snapshot.state).terminal and last >= snapshot.event_seq:
                    return
                while True:
                    # Everything the log holds after `last`, in order.
                    for row in await runtime.store.events_after(job_id, last):
                        event = pb.JobEvent.FromString(row.payload)
                        last = event.sequence
                        yield pb.WatchJobResponse(event=event)
                        if is_terminal_event(event):
                            return
                    # Then wait for the bus; a message in order is delivered straight away.
                    while True:
                        try:
                            payload = await asyncio.wait_for(live.get(), poll_seconds)
                        except TimeoutError:
                            if await runtime.store.get(job_id) is None:
                                raise NotFound(
                                    f"Job {job_id} was deleted.", reason="JOB_NOT_FOUND"
                                ) from None
                            break  # read the log: a publish may have been lost
                        event = pb.JobEvent.FromString(payload)
                        if event.sequence <= last:
                            continue
                        if event.sequence > last + 1:
                            break  # a gap: the log fills it
                        last = event.sequence
                        yield pb.WatchJobResponse(event=event)
                        if is_terminal_event(event):
                            return
            finally:
                pump.cancel()
                # The bus may have failed on its own; the log already covered for it.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
    finally:
        metrics.WATCHERS.dec()
