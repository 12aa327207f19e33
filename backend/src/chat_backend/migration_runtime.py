"""What `migrations/env.py` needs at run time: a connection, the migrators' lock, timeouts,
and a failure report that names the revision.

env.py stays close to Alembic's template and calls these; they are tested here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from chat_backend.config import Settings
from chat_backend.db import make_engine

log = logging.getLogger("alembic.runtime.migration")

# One advisory lock key for every migrator of this project: a 64-bit number derived from a
# fixed name, so it never changes between releases.
LOCK_KEY = 0x63_68_61_74_2D_6D_69_67  # "chat-mig"

# Options shared by online, offline and autogenerate runs, so `alembic check` judges the
# same thing the migrations produce.
CONTEXT_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": True,
    "transaction_per_migration": True,
}


@contextmanager
def connection_for(
    connectable: Engine | Connection | None, settings: Settings
) -> Iterator[Connection]:
    """The connection to migrate: one handed in by a caller (tests), or a new one."""
    if isinstance(connectable, Connection):
        yield connectable
        return
    engine = connectable or make_engine(settings)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        if connectable is None:
            engine.dispose()


@contextmanager
def migration_lock(connection: Connection, settings: Settings) -> Iterator[None]:
    """Hold the migrators' session-level advisory lock and set the migration timeouts.

    Concurrent migrators wait here instead of racing. The lock query autobegins a transaction
    (SQLAlchemy 2); it is committed before yielding, or Alembic would run every migration inside
    it and nothing would be committed when the connection closes.
    """
    if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}):
        log.info("Another migrator holds the migration lock; waiting for it to finish.")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
    connection.execute(
        text(
            "SELECT set_config('lock_timeout', :lock, false), "
            "set_config('statement_timeout', :statement, false)"
        ),
        {
            "lock": f"{settings.migration_lock_timeout_ms}ms",
            "statement": f"{settings.migration_statement_timeout_ms}ms",
        },
    )
    connection.commit()
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        connection.commit()


def failure_message(connection: Connection, script: ScriptDirectory, error: DBAPIError) -> str:
    """One line naming the failing revision, the database error, and where the database is.

    Called after the failed revision's transaction was rolled back, so the database's own
    version table says which revision it stays at.
    """
    if connection.in_transaction():
        connection.rollback()
    current = MigrationContext.configure(connection).get_current_revision()
    reason = str(error.orig or error).strip().splitlines()[0]
    return (
        f"migration {_next_revision(script, current)} failed: {reason}. "
        f"Its transaction was rolled back; the database stays at revision "
        f"{current or 'base (empty)'}. Fix the revision, then run `make migrate` again."
    )


def _next_revision(script: ScriptDirectory, current: str | None) -> str:
    children = [rev.revision for rev in script.walk_revisions() if current in _parents(rev)]
    return children[0] if len(children) == 1 else f"after {current or 'base'}"


def _parents(revision: Script) -> tuple[str | None, ...]:
    down = revision.down_revision
    return tuple(down) if isinstance(down, (tuple, list)) else (down,)
