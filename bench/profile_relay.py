"""Where the relay's time goes: py-spy samples the server process while the relay bench
(bench/relay.py) sends note deltas to 100 WatchJob clients, and the top of the profile is
written as text to bench/results/profile-relay-<name>.txt.

    .venv/bin/python -m bench.profile_relay before

More deltas than the bench (PROFILE_DELTAS, 50 ms apart), so that the fan-out, not the 100
streams' opening, fills the samples. Needs py-spy (`pip install py-spy`), a profiling tool,
not a dependency of the service.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import RESULTS, ChildServer, percentile
from bench.profile import record, summarize
from bench.relay import CLIENT_PROCESSES, run_arrivals

PROFILE_DELTAS = 200


def profile(name: str, *, native: bool = False, keep: Path | None = None) -> Path:
    """Profile the server under the relay bench; ``keep`` gets a copy of the raw stacks."""
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw.txt"

        @contextmanager
        def sampled(server: ChildServer) -> Iterator[None]:
            recorder = record(server.proc.pid, raw, native=native)
            try:
                yield
            finally:
                recorder.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
                recorder.wait(timeout=30)

        arrivals, _ = run_arrivals(CLIENT_PROCESSES, PROFILE_DELTAS, sampled)
        delays = [(arrival - sent) / 1e6 for sent, arrival in arrivals]
        text = (
            f"relay: {PROFILE_DELTAS} note deltas to 100 WatchJob clients "
            f"({CLIENT_PROCESSES} processes), p50 {percentile(delays, 50):.2f} ms, "
            f"p99 {percentile(delays, 99):.2f} ms (under py-spy)\n"
        )
        text += summarize(raw.read_text())
        if keep is not None:
            shutil.copy(raw, keep)
    out = RESULTS / f"profile-relay-{name}.txt"
    out.write_text(text)
    return out


if __name__ == "__main__":
    # `python -m bench.profile_relay NAME [--native] [--keep RAW]`
    args = sys.argv[1:]
    keep = Path(args[args.index("--keep") + 1]) if "--keep" in args else None
    print(profile(args[0], native="--native" in args, keep=keep))
