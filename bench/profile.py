"""Where a GetJob goes: py-spy samples the server process while the GetJob bench runs against
it, and the top of the profile (own and cumulative samples per function) is written as text.

    .venv/bin/python -m bench.profile getjob-before            # embedded default (SQLite)
    .venv/bin/python -m bench.profile getjob-pg-before --pg    # PostgreSQL
    .venv/bin/python -m bench.profile upload-before --upload   # 256 MiB batch uploads
    .venv/bin/python -m bench.profile listjobs-before --method ListJobs  # another unary read

``--method`` is one of bench/unary.py's METHODS (GetJob, ListJobs, GetTranscript, GetSummary).

Needs py-spy on PATH or beside the interpreter (`pip install py-spy`); it is a profiling tool,
not a dependency of the service. The result goes to bench/results/profile-<name>.txt.
"""

from __future__ import annotations

import asyncio
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import BIN, RESULTS, child_server
from bench.unary import METHODS, create_text_job, hammer, pg_env
from bench.upload import BIG_UPLOADS, upload_seconds
from core.auth import mint_token

TOP = 40


def summarize(raw: str, top: int = TOP) -> str:
    """Own and cumulative share of samples per function, from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    # The event loop's own work (callbacks it runs), apart from driver threads waiting.
    loop: collections.Counter[str] = collections.Counter()
    samples = loop_samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
        marks = [i for i, f in enumerate(frames) if f.startswith("Handle._run ")]
        if marks:
            loop_samples += count
            for frame in set(frames[marks[0] + 1 :]):
                loop[frame] += count
    lines = [f"{samples} samples", "", f"own %   top {top} functions by own samples"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in own.most_common(top)]
    lines += ["", f"total % top {top} functions by cumulative samples"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in total.most_common(top)]
    lines += ["", f"loop %  event-loop callbacks ({loop_samples} samples), top {top} cumulative"]
    lines += [f"{100 * n / max(loop_samples, 1):6.1f}  {f}" for f, n in loop.most_common(top)]
    return "\n".join(lines) + "\n"


def record(pid: int, raw: Path, *, native: bool = False) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` into ``raw`` (with C/Cython frames when ``native``) until it
    gets SIGINT."""
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--native" if native else "--nonblocking",
            "-o",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def profile(name: str, *, pg: bool, method: str = "GetJob", total: int = 6000) -> Path:
    env = asyncio.run(pg_env()) if pg else {}
    with child_server(env) as server, tempfile.TemporaryDirectory() as folder:
        token = mint_token(server.secret, "bench")
        job_id = asyncio.run(create_text_job(server.address, token))
        raw = Path(folder) / "raw.txt"
        recorder = record(server.proc.pid, raw)
        try:
            rps, _ = asyncio.run(hammer(server.address, job_id, token, total, method=method))
        finally:
            recorder.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
            recorder.wait(timeout=30)
        text = f"{method} at 64 in flight, {'PostgreSQL' if pg else 'SQLite'}: {rps:.0f} rps\n"
        text += summarize(raw.read_text())
    out = RESULTS / f"profile-{name}.txt"
    out.write_text(text)
    return out


def profile_upload(name: str, *, size_mib: int = 256, rounds: int = 2) -> Path:
    """The server taking ``rounds`` batch uploads of ``size_mib`` MiB on the local store."""
    with child_server(BIG_UPLOADS) as server, tempfile.TemporaryDirectory() as folder:
        token = mint_token(server.secret, "bench")
        asyncio.run(upload_seconds(server.address, 8 << 20, token))  # warm-up
        raw = Path(folder) / "raw.txt"
        recorder = record(server.proc.pid, raw)
        try:
            seconds = [
                asyncio.run(upload_seconds(server.address, size_mib << 20, token))
                for _ in range(rounds)
            ]
        finally:
            recorder.send_signal(2)
            recorder.wait(timeout=30)
        text = f"UploadAudio {size_mib} MiB, local store: {size_mib / min(seconds):.1f} MiB/s\n"
        text += summarize(raw.read_text())
    out = RESULTS / f"profile-{name}.txt"
    out.write_text(text)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--upload" in args:
        print(profile_upload(args[0]))
    else:
        method = args[args.index("--method") + 1] if "--method" in args else "GetJob"
        if method not in METHODS:
            raise SystemExit(f"--method is one of {', '.join(METHODS)}")
        print(profile(args[0], pg="--pg" in args, method=method))
