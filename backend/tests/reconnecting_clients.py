"""Clients that hold connections to a database and reconnect the moment one is ended, as the
API's connection pool does: what a swap or a live clone must win against on a running stack."""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2  # type: ignore[import-untyped]

from chat_backend.db.target import Target

# How long a client waits before trying again when the server refuses it.
RETRY_S = 0.001


class ReconnectingClient(threading.Thread):
    """One connection to `target`'s database, replaced at once whenever it ends: it watches its
    socket as an event loop does, so it notices the end without sending anything."""

    def __init__(self, target: Target) -> None:
        super().__init__(daemon=True)
        self._target = target
        self.stopping = threading.Event()
        self.connections = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                connection = psycopg2.connect(
                    **self._target.connect_options(self._target.database), connect_timeout=5
                )
            except psycopg2.OperationalError:
                self.stopping.wait(RETRY_S)
                continue
            self.connections += 1
            try:
                self._hold(connection)
            finally:
                connection.close()

    def _hold(self, connection: psycopg2.extensions.connection) -> None:
        """Until the server ends the session (its socket turns readable) or the test stops."""
        while not self.stopping.is_set():
            readable, _, _ = select.select([connection.fileno()], [], [], 0.05)
            if readable:
                return


@contextmanager
def reconnecting_clients(target: Target, count: int) -> Iterator[list[ReconnectingClient]]:
    """`count` clients connected to `target`'s database, each reconnecting at once, for the
    block's length."""
    clients = [ReconnectingClient(target) for _ in range(count)]
    for client in clients:
        client.start()
    try:
        yield clients
    finally:
        for client in clients:
            client.stopping.set()
        for client in clients:
            client.join(timeout=10)
