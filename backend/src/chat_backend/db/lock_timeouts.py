"""A migration that gave up waiting for a table lock (`lock_timeout`): which table, and how to
find the session that holds it.

By the time the failure is reported, the migration's own lock request is gone, so the table is
found among the locks other sessions still hold, narrowed to the tables the failed statement
names.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

LOCK_NOT_AVAILABLE = "55P03"

TABLES_LOCKED_BY_OTHERS = text(
    """
    SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
     WHERE l.granted AND l.pid <> pg_backend_pid() AND c.relkind IN ('r', 'p')
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY 1
    """
)


def is_lock_timeout(error: DBAPIError) -> bool:
    return getattr(error.orig, "pgcode", None) == LOCK_NOT_AVAILABLE


def locked_tables(connection: Connection, statement: str | None) -> list[str]:
    """Tables other sessions hold locks on; those the statement names, when it names any."""
    locked = list(connection.scalars(TABLES_LOCKED_BY_OTHERS))
    named = [table for table in locked if _names(statement or "", table)]
    return named or locked


def lock_timeout_advice(connection: Connection, statement: str | None) -> str:
    """What is wrong and what to do, as a clause of the failure's one line."""
    tables = locked_tables(connection, statement)
    if not tables:
        return (
            "another session held a lock on a table this revision changes, and has let go "
            "since; run the migration again, or raise MIGRATION_LOCK_TIMEOUT_MS"
        )
    relations = ", ".join(f"'{table}'::regclass" for table in tables)
    # A query for the user to run, shown in the message; never executed here.
    find = (
        "SELECT pid, state, query FROM pg_stat_activity WHERE pid IN "  # noqa: S608
        f"(SELECT pid FROM pg_locks WHERE relation IN ({relations}))"
    )
    return (
        f"another session holds a lock on {', '.join(tables)}; find it with `{find}`, then "
        "end that transaction (or `SELECT pg_terminate_backend(pid)`) and run the migration "
        "again, or raise MIGRATION_LOCK_TIMEOUT_MS"
    )


def _names(statement: str, table: str) -> bool:
    # The table as a whole identifier, bare or quoted, maybe schema-qualified.
    return (
        re.search(rf"(?<![\w$]){re.escape(table)}(?![\w$])", statement, re.IGNORECASE) is not None
    )
