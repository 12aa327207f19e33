"""Ends the sessions connected to a database while another session holds a lock on it, on a
second connection of its own: see Cluster._alone_on for why the order matters."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# How long a session being ended gets to go; the statement waiting for it gives up after 5 s.
TERMINATE_TIMEOUT_MS = 5_000
# How often the lock is looked for, then the database's sessions ended again: one that had
# joined just before the lock was taken shows in pg_stat_activity a moment later.
POLL_S = 0.005

# The lock a rename or a copy takes on the database: PostgreSQL's own lock on the pg_database
# row's object, which every new session of that database takes too (and so waits for).
_LOCK_HELD = (
    "SELECT EXISTS (SELECT FROM pg_locks WHERE pid = %s AND granted AND locktype = 'object' "
    "AND classid = 'pg_database'::regclass AND objid = %s)"
)
_END_SESSIONS = (
    "SELECT pg_terminate_backend(pid, %s) FROM pg_stat_activity "
    "WHERE datid = %s AND pid <> pg_backend_pid() AND pid <> %s"
)


class SessionEnder:
    """A thread that waits until session `holder` holds its lock on database `oid`, then ends
    every other session of that database, again and again until `finish()`."""

    def __init__(self, open_session: Callable[[], Any], oid: int, holder: int) -> None:
        self._open_session = open_session
        self._oid = oid
        self._holder = holder
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-ender", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._finished.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            connection = self._open_session()
        except Exception as error:  # reported by the statement that waits (Cluster._alone_on)
            self.error = error
            return
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                while not self._finished.is_set() and not self._lock_held(cursor):
                    self._finished.wait(POLL_S)
                while not self._finished.is_set():
                    cursor.execute(_END_SESSIONS, (TERMINATE_TIMEOUT_MS, self._oid, self._holder))
                    self._finished.wait(POLL_S)
        except Exception as error:  # likewise
            self.error = error
        finally:
            connection.close()

    def _lock_held(self, cursor: Any) -> bool:
        cursor.execute(_LOCK_HELD, (self._holder, self._oid))
        return bool(cursor.fetchone()[0])
