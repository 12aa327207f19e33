"""What `migrations/env.py` needs at run time: a connection, the migrators' lock, timeouts,
and a failure report that names the revision.

env.py stays close to Alembic's template and calls these; they are tested here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, Engine, Executable, text
from sqlalchemy.exc import DBAPIError

from chat_backend.config import Settings, exit_with_problems
from chat_backend.db.connection_retry import DatabaseUnreachableError, connect
from chat_backend.db.engine import make_engine
from chat_backend.db.environment_marker import TABLE as MARKER_TABLE
from chat_backend.db.lock_timeouts import is_lock_timeout, lock_timeout_advice
from chat_backend.db.revision_checksums import TABLE as CHECKSUM_TABLE
from chat_backend.db.revision_checksums import offline_statements

log = logging.getLogger("alembic.runtime.migration")

# One advisory lock key for every migrator of this project: a 64-bit number derived from a
# fixed name, so it never changes between releases.
LOCK_KEY = 0x63_68_61_74_2D_6D_69_67  # "chat-mig"
# SQLSTATE of a statement cancelled by statement_timeout (or by a user).
QUERY_CANCELED = "57014"
# Marks, in the connection's info, a session that holds the lock (see migration_lock).
LOCK_HELD = "chat_backend.migration_lock_held"

# A killed migrator's statement then stops within a second, instead of running on (holding its
# table locks and the migrators' lock) until it ends. PostgreSQL 14+; older servers lack the
# setting, and this selects nothing there.
CHECK_CLIENT_CONNECTION = text(
    "SELECT set_config(name, '1s', false) FROM pg_settings "
    "WHERE name = 'client_connection_check_interval'"
)


def _is_schema_object(name: str | None, type_: str, _parents: Mapping[str, str | None]) -> bool:
    """The runtime's own tables are no model's business: the revision checksums, and the
    database's environment marker (environment_marker)."""
    return not (type_ == "table" and name in {CHECKSUM_TABLE, MARKER_TABLE})


# Options shared by online, offline and autogenerate runs, so `alembic check` judges the
# same thing the migrations produce.
CONTEXT_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": True,
    "transaction_per_migration": True,
    "include_name": _is_schema_object,
}


@contextmanager
def connection_for(
    connectable: Engine | Connection | None, settings: Settings
) -> Iterator[Connection]:
    """The connection to migrate: one handed in by a caller (tests), or a new one.

    A database that stays unreachable (or refuses the login) exits with one line (status 1).
    """
    if isinstance(connectable, Connection):
        yield connectable
        return
    engine = connectable or make_engine(settings)
    try:
        try:
            connection = connect(engine, settings)
        except DatabaseUnreachableError as error:
            exit_with_problems([str(error)], code=1)
        with connection:
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

    A caller that already holds the lock on this connection (the rollback guard, which
    decides and downgrades in one transaction of its own) gets it as it is: nothing is
    taken, set or committed again.
    """
    if connection.info.get(LOCK_HELD):
        yield
        return
    if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}):
        log.info("Another migrator holds the migration lock; waiting for it to finish.")
        _wait_for_lock(connection)
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
    connection.execute(CHECK_CLIENT_CONNECTION)
    connection.commit()
    connection.info[LOCK_HELD] = True
    try:
        yield
    finally:
        del connection.info[LOCK_HELD]
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        connection.commit()


def offline_preamble(settings: Settings) -> list[Executable | str]:
    """The head of an offline script (`alembic upgrade --sql`, `make sql`): the migration
    timeouts, as the online migrator sets them, and the checksum table its revisions fill.
    (No advisory lock: whoever runs the script runs it once, by hand.)"""
    return [
        f"SET lock_timeout = '{settings.migration_lock_timeout_ms}ms'",
        f"SET statement_timeout = '{settings.migration_statement_timeout_ms}ms'",
        *offline_statements(),
    ]


def _wait_for_lock(connection: Connection) -> None:
    """Wait for the lock; a statement_timeout set on the server for the role or database (we
    set ours only once we hold the lock) may cancel the wait: one line, exit 2."""
    try:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
    except DBAPIError as error:
        if getattr(error.orig, "pgcode", None) != QUERY_CANCELED:
            raise
        connection.rollback()
        timeout = connection.scalar(text("SELECT current_setting('statement_timeout')"))
        exit_with_problems(
            [
                f"waiting for the migration lock was cancelled by the server's statement_timeout "
                f"({timeout}, set for this role or database): another migrator holds the lock; "
                "run again once it has finished, or lift the setting for migrations "
                "(ALTER ROLE ... RESET statement_timeout)"
            ]
        )


def failure_message(connection: Connection, script: ScriptDirectory, error: DBAPIError) -> str:
    """One line naming the failing revision, the database error, and where the database is.

    Called after the failed revision's transaction was rolled back, so the database's own
    version table says which revision it stays at.
    """
    if connection.in_transaction():
        connection.rollback()
    current = MigrationContext.configure(connection).get_current_revision()
    reason = str(error.orig or error).strip().splitlines()[0]
    fix = "Fix the revision, then run `make migrate` again."
    if is_lock_timeout(error):
        reason += f": {lock_timeout_advice(connection, error.statement)}"
        fix = "Nothing in the revision needs fixing."
    return (
        f"migration {_next_revision(script, current)} failed: {reason}. "
        f"Its transaction was rolled back; the database stays at revision "
        f"{current or 'base (empty)'}. {fix}"
    )


def _next_revision(script: ScriptDirectory, current: str | None) -> str:
    children = [rev.revision for rev in script.walk_revisions() if current in _parents(rev)]
    return children[0] if len(children) == 1 else f"after {current or 'base'}"


def _parents(revision: Script) -> tuple[str | None, ...]:
    down = revision.down_revision
    return tuple(down) if isinstance(down, (tuple, list)) else (down,)
