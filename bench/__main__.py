"""`make bench`: every benchmark, each a ratio against a reference measured in the same run
on the same machine plus absolute figures; writes bench/results/latest.json and PNG plots.

Needs the local PostgreSQL and RabbitMQ (relay and scale-out go through them). Loops are
bounded by counts and every server listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import (
    embedded,
    live,
    pipeline,
    relay,
    relay_soak,
    scaleout,
    startup,
    transcribe_memory,
    unary,
    upload,
)
from bench.common import RESULTS, write_results
from bench.plots import draw
from bench.settle import settle

STEPS: dict[str, Callable[[], dict[str, Any]]] = {
    "startup": startup.run,
    "upload": upload.run,
    "unary": unary.run,
    "relay": relay.run,
    "relay_soak": relay_soak.run,
    "pipeline": pipeline.run,
    "scaleout": scaleout.run,
    "transcribe_memory": transcribe_memory.run,
    "embedded": embedded.run,
    "live": live.run,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(STEPS)
    figures: dict[str, float | int | str] = {
        "machine": f"{platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()}".strip(),
        "date": time.strftime("%Y-%m-%d"),
    }
    for index, name in enumerate(chosen):
        if index:
            settle()  # the step before's writeback is not this step's to wait for
        started = time.perf_counter()
        result = STEPS[name]()
        print(f"{name} ({time.perf_counter() - started:.0f}s): {json.dumps(result)}", flush=True)
        figures.update(result)
    path = write_results(figures)
    merged = json.loads(path.read_text())
    for png in draw(merged, RESULTS):
        print(f"wrote {png.relative_to(RESULTS.parent.parent)}")
    print(f"wrote {path.relative_to(RESULTS.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
