"""Checks that the server's ports are free before anything else starts (secrets, database
migration, workers), so that a taken port is one clear line, not a traceback from halfway
through start-up."""

from __future__ import annotations

import contextlib
import socket

from core.settings import Settings


class PortInUse(Exception):
    """A listen address another process holds; ``message`` names the setting to change."""

    def __init__(self, address: str, setting: str) -> None:
        self.address = address
        self.setting = setting
        self.message = (
            f"Port {address.rpartition(':')[2]} ({address}) is already in use; stop what "
            f"holds it or set {setting} to another HOST:PORT."
        )
        super().__init__(self.message)


def _free(address: str) -> bool:
    host, _, port_text = address.rpartition(":")
    port = int(port_text)
    if port == 0:
        return True  # any free port will do
    host = host.strip("[]") or "0.0.0.0"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return True  # an unresolvable host is the server's own error to report
    for family, kind, proto, _, sockaddr in infos[:1]:
        with contextlib.closing(socket.socket(family, kind, proto)) as probe:
            # SO_REUSEADDR as the servers set it: connections of a process that just exited
            # (TIME_WAIT) do not count as taken, a listening socket does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError:
                return False
    return True


def check_ports(settings: Settings) -> None:
    """Raise PortInUse for the first of the gRPC and HTTP listen addresses that is taken."""
    for address, setting in (
        (settings.grpc_listen, "CONSULTA_GRPC_LISTEN"),
        (settings.http_listen, "CONSULTA_HTTP_LISTEN"),
    ):
        if not _free(address):
            raise PortInUse(address, setting)
