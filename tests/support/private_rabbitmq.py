"""A RabbitMQ node of the test's own on free loopback ports, for tests that stop and start the
broker (the shared one on 5672 is never touched).

Runs the machine's RabbitMQ scripts from /usr/lib/rabbitmq/bin directly (the /usr/sbin
wrappers switch to the ``rabbitmq`` user and drop the environment), with a private node name,
config, data folder, log folder and Erlang cookie (HOME), and no plugins.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path("/usr/lib/rabbitmq/bin")
#: Seconds a node may take to boot on a busy machine.
START_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRabbitMQ:
    folder: Path
    node: str
    port: int
    dist_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.folder / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def ctl(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [str(SCRIPTS / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout

    def start(self) -> None:
        """Start the node and return once it accepts connections (bounded)."""
        # The child keeps its own copy of the log's descriptor; ours is closed at once.
        with (self.folder / "server.out").open("ab") as out:
            self.proc = subprocess.Popen(
                [str(SCRIPTS / "rabbitmq-server")],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # RabbitMQ opens its AMQP port last, once it is fully booted.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited; see {self.folder / 'server.out'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"RabbitMQ did not start within {START_TIMEOUT}s") from None
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the node (as an outage would) and wait for the process to exit."""
        if self.proc is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.ctl("stop", timeout=60)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def queues(self, prefix: str) -> dict[str, int]:
        """Queues whose name starts with ``prefix``, with their consumer counts."""
        queues: dict[str, int] = {}
        listed = self.ctl("list_queues", "name", "consumers", "--quiet", "--no-table-headers")
        for line in listed.splitlines():
            name, _, consumers = line.rpartition("\t")
            if name.startswith(prefix):
                queues[name] = int(consumers)
        return queues


@contextlib.contextmanager
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    if not (SCRIPTS / "rabbitmq-server").exists():
        raise RuntimeError("RabbitMQ is not installed (apt-get install rabbitmq-server)")
    folder = Path(tempfile.mkdtemp(prefix="consulta-rmq-"))
    try:
        (folder / "home").mkdir()
        port = _free_port()
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n"
        )
        (folder / "rabbitmq-env.conf").write_text("")
        (folder / "enabled_plugins").write_text("[].\n")
        node = PrivateRabbitMQ(
            folder, f"consulta-test-{uuid.uuid4().hex[:8]}@localhost", port, _free_port()
        )
        try:
            node.start()
            yield node
        finally:
            node.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
