"""The process's AMQP connections, one per broker URL (core/amqp.py holds the connection).

Kept apart from core/amqp.py so that a process on the in-process queue and bus, the embedded
default, never imports aio-pika: the runtime always makes an :class:`AmqpConnections`, and
aio-pika (about 100 ms of imports on the bench machine) is loaded on the first :meth:`get`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.amqp import AmqpConnection


class AmqpConnections:
    """The process's AMQP connections: one per broker URL, shared by every adapter that
    asks for it. Made by the runtime and closed by it after the adapters."""

    def __init__(self, *, name: str) -> None:
        self.name = name
        self._by_url: dict[str, AmqpConnection] = {}

    def get(self, url: str) -> AmqpConnection:
        """The connection to ``url``'s broker (nothing is opened before its first use)."""
        from core.amqp import AmqpConnection

        if url not in self._by_url:
            self._by_url[url] = AmqpConnection(url, name=self.name)
        return self._by_url[url]

    def all(self) -> list[AmqpConnection]:
        return list(self._by_url.values())

    async def aclose(self) -> None:
        for connection in self._by_url.values():
            await connection.aclose()
