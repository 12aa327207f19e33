"""The database says what it is: a one-row table naming its environment, the way Rails'
`ar_internal_metadata` does. A production server reached through `ssh -L 5432:prod:5432` looks
like loopback to every address check; its missing (or `production`) marker does not.

The stack's db init writes `development` (db/init/20-environment.sql); `make mark-database
env=...` marks a database you really mean; the tests mark theirs `test`. The table travels with
the database through clones, renames and dumps, so a reset's clone, a snapshot and a restored
teammate's dump each say what they are. No revision creates or drops it, and `alembic check`
ignores it (migration_runtime.CONTEXT_OPTIONS), like the revision checksums.
"""

from __future__ import annotations

from typing import Any

TABLE = "database_environment"
ENVIRONMENTS = ("development", "test", "production")
# What the guard lets destructive commands act on.
DISPOSABLE = frozenset({"development", "test"})

CREATE = (
    "CREATE TABLE IF NOT EXISTS database_environment ("
    "  one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),"
    f"  environment text NOT NULL CHECK (environment IN {ENVIRONMENTS!r}),"
    "  marked_at timestamptz NOT NULL DEFAULT now())"
)
WRITE = (
    "INSERT INTO database_environment (environment) VALUES (%s) "
    "ON CONFLICT (one_row) DO UPDATE SET environment = excluded.environment, marked_at = now()"
)
READ = "SELECT environment FROM database_environment"


def read(session: Any) -> str | None:
    """The environment the database of `session` (psycopg2) says it is; None without a marker."""
    with session.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,))
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(READ)
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def write(session: Any, environment: str) -> None:
    """Mark the database of `session` (psycopg2) as `environment`, in the caller's transaction."""
    if environment not in ENVIRONMENTS:
        raise ValueError(
            f"env={environment!r} is not an environment: use one of {', '.join(ENVIRONMENTS)}"
        )
    with session.cursor() as cursor:
        cursor.execute(CREATE)
        cursor.execute(WRITE, (environment,))
