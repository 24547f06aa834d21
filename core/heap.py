"""The startup heap kept out of the garbage collector's full passes.

A server process holds about 165,000 objects once it is up (modules, classes, protobuf
descriptors, SQLAlchemy's compiled statements, gRPC's handlers), nearly all alive until
it exits. CPython's full collection walks every one of them: 50 to 210 ms measured on the
2-core bench machine, during which no request, stream or event is served. In the relay
bench every full pass fell at startup, so no bench figure shows the change yet
(bench/README.md, "The collector's full passes"). ``gc.freeze`` moves
what is alive now into a permanent generation that collections skip; objects made later
are collected as before. The cost: a startup object that later becomes cyclic garbage is
never freed (startup objects live as long as the process). No collection runs first: a
full pass just before the freeze found only about 700 unreachable objects among 171,000 and
held the event loop for 70 to 250 ms while the first readiness probes waited, so the few
hundred objects of startup garbage are frozen with the rest instead. ``gc.freeze`` itself
only moves list heads: it costs microseconds.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Freeze every object tracked now; returns how many objects are frozen."""
    gc.freeze()
    return gc.get_freeze_count()
