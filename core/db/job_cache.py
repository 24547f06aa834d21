"""A per-server cache of job rows for the hot reads (GetJob first), keyed by job id.

It holds the row a GetJob response is built from, never a verdict: who may see the job is
checked on every call against the cached row's owner and tenant (:func:`may_see`, the same
rule as the SQL one in core/db/reads.py), so another caller's job stays NOT_FOUND.

Coherence. Every write path of the job store (core/db/store.py: create, cancel, fail, erase,
claim, record, release, the sweeper's touch; core/db/upload_store.py: a live upload's finish)
drops the job's entry synchronously when its transaction ends, before the write returns. A
read that was already under way when the write ended cannot put back the row it read before
the write: each invalidation moves a generation, and a fill is only kept when no
invalidation happened since its read began. So when every write goes through this process,
as on the embedded default (SQLite, the in-process queue, workers inside the server), the
cache is exact: a read that starts after a write returned sees that write.

With several servers and workers on one PostgreSQL database, other processes write too and
this process would only learn of it from the event bus, later: a job deleted on server 1
would still be served by server 2 until then, and tests/e2e/test_reads.py requires it gone
at once. So the cache is on by default only for the embedded default, SQLite with the
in-process queue (``job_cache`` "auto"); forced on for PostgreSQL, entries live at most
``job_cache_ttl_seconds``, the bound on how stale a read may be. The TTL applies on SQLite as
well, as a backstop for any write made outside this process.

Size: at most ``job_cache_entries`` rows, least recently used dropped first.

Beside the rows, the same cache keeps jobs' results (GetTranscript's and GetSummary's
messages as wire bytes, core/db/result_reads.py) under the same rules: checked against the
caller on every read, dropped with the job's row by every write of the job, the same
generation guard and TTL. They are larger than rows (a long consultation's transcript is tens
of kilobytes), so at most a hundredth as many are kept (100 for the default 10,000 rows).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

from core.auth import Principal
from core.db.result_reads import Kind, VisibleResult
from core.db.views import JobView

CacheMode = Literal["auto", "on", "off"]


def may_see(principal: Principal, owner: str, tenant: str) -> bool:
    """The ownership rule of core/db/visibility.py ``visible_to``, on a row already read: a user
    sees what they own in their tenant; a service role sees its whole tenant's."""
    if principal.is_service:
        return tenant == principal.tenant
    return owner == principal.subject and tenant == principal.tenant


def cache_enabled(mode: CacheMode, database_url: str, queue_url: str) -> bool:
    """Whether a server caches job rows. "auto" means only the embedded default: SQLite with
    the in-process queue, so no worker process elsewhere takes jobs and writes them (a
    SQLite file shared with workers fed by RabbitMQ is not exact; see the module doc)."""
    if mode == "auto":
        return database_url.startswith("sqlite") and queue_url.startswith("memory://")
    return mode == "on"


class JobCache:
    """An LRU of job rows with a time-to-live, safe to share between threads."""

    def __init__(
        self,
        max_entries: int,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("a job cache holds at least one entry")
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._rows: OrderedDict[str, tuple[float, JobView]] = OrderedDict()
        self.max_results = max(1, max_entries // 100)
        self._results: OrderedDict[tuple[Kind, str], tuple[float, VisibleResult]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, job_id: str) -> JobView | None:
        """The cached row, or None when absent or older than the TTL."""
        with self._lock:
            found = self._rows.get(job_id)
            if found is None:
                return None
            stored_at, row = found
            if self._clock() - stored_at >= self.ttl_seconds:
                del self._rows[job_id]
                return None
            self._rows.move_to_end(job_id)
            return row

    def get_result(self, kind: Kind, job_id: str) -> VisibleResult | None:
        """The job's cached result, or None when absent or older than the TTL."""
        key = (kind, job_id)
        with self._lock:
            found = self._results.get(key)
            if found is None:
                return None
            stored_at, result = found
            if self._clock() - stored_at >= self.ttl_seconds:
                del self._results[key]
                return None
            self._results.move_to_end(key)
            return result

    def put_result(self, kind: Kind, job_id: str, result: VisibleResult, generation: int) -> bool:
        """Keep ``result`` as :meth:`put` keeps a row."""
        with self._lock:
            if generation != self._generation:
                return False
            self._results[(kind, job_id)] = (self._clock(), result)
            self._results.move_to_end((kind, job_id))
            while len(self._results) > self.max_results:
                self._results.popitem(last=False)
            return True

    def generation(self) -> int:
        """Take before reading the database; pass to :meth:`put` with what was read."""
        return self._generation

    def put(self, job_id: str, row: JobView, generation: int) -> bool:
        """Keep ``row`` unless a write ended since ``generation`` was taken (the row may then
        predate it); False when it was not kept."""
        with self._lock:
            if generation != self._generation:
                return False
            self._rows[job_id] = (self._clock(), row)
            self._rows.move_to_end(job_id)
            while len(self._rows) > self.max_entries:
                self._rows.popitem(last=False)
            return True

    def invalidate(self, *job_ids: str) -> None:
        """A write to these jobs ended (committed or not): forget them."""
        with self._lock:
            self._generation += 1
            for job_id in job_ids:
                self._rows.pop(job_id, None)
                self._results.pop(("transcript", job_id), None)
                self._results.pop(("summary", job_id), None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._rows.clear()
            self._results.clear()
