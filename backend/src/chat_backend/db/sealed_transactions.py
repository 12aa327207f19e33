"""A transaction that the code running inside it cannot leave: for downgrades that are judged,
or undone, only as a whole (the rollback guard, the phantom rollback).

A downgrade that runs `op.execute("COMMIT")` (the old idiom for a statement that cannot run in
a transaction) would otherwise commit half of its work behind the guard's back: the guard then
rolls back a transaction that no longer exists and reports "nothing was changed" over a dropped
column. So, for the length of the transaction:

- COMMIT (also END, COMMIT AND CHAIN, PREPARE TRANSACTION, a driver-level commit) fails: a
  deferred constraint trigger on a temporary table raises unless the sealed block itself ended
  it, and PostgreSQL then rolls the whole transaction back;
- ROLLBACK (or ABORT) is seen right after its statement, by the driver's transaction status, and
  stops the code with EscapedError before its next statement;
- whatever still runs after an escape within the same statement string finds the session
  read-only (default_transaction_read_only), so it cannot write either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg2.extensions import TRANSACTION_STATUS_IDLE  # type: ignore[import-untyped]
from sqlalchemy import Connection, event, text

# The SQLSTATE of a refused COMMIT (a class of our own), and what it says.
REFUSED_COMMIT_STATE = "CB001"
REFUSED_COMMIT = (
    'a downgrade ran COMMIT inside a transaction that must stay whole (op.execute("COMMIT") '
    "or an autocommit block); everything it did was rolled back"
)
# A temporary function lives as long as the session, so a second sealed block replaces it.
SEAL = text(
    "CREATE OR REPLACE FUNCTION pg_temp.refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF current_setting('chat_backend.sealed', true) IS DISTINCT FROM 'released' THEN "
    "RAISE EXCEPTION USING ERRCODE = 'CB001', MESSAGE = 'a downgrade ran COMMIT inside a "
    "transaction that must stay whole'; END IF; RETURN NULL; END $$; "
    "CREATE TEMPORARY TABLE sealed (one_row boolean) ON COMMIT DROP; "
    "CREATE CONSTRAINT TRIGGER sealed AFTER INSERT ON pg_temp.sealed DEFERRABLE INITIALLY "
    "DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_commit(); "
    "INSERT INTO pg_temp.sealed VALUES (true)"
)
RELEASE = text("SELECT set_config('chat_backend.sealed', 'released', true)")


class EscapedError(Exception):
    """A statement ended the sealed transaction (ROLLBACK); what it did was rolled back."""

    def __init__(self, statement: str) -> None:
        first_line = statement.strip().splitlines()[0] if statement.strip() else statement
        super().__init__(
            f"a revision's downgrade ended the transaction that must stay whole "
            f"({first_line[:60]!r}); everything it did was rolled back"
        )


def is_refused_commit(error: BaseException) -> bool:
    """Whether `error` (a DBAPIError, or the driver's own) is the seal refusing a COMMIT."""
    original = getattr(error, "orig", error)
    return getattr(original, "pgcode", None) == REFUSED_COMMIT_STATE


@contextmanager
def sealed(connection: Connection) -> Iterator[None]:
    """Run the block in one transaction of `connection` (which has none open) that it cannot
    end: committed when the block returns, rolled back when it raises."""
    _set_session_read_only(connection, read_only=True)
    event.listen(connection, "after_cursor_execute", _stop_if_ended)
    try:
        transaction = connection.begin()
        try:
            connection.execute(text("SET TRANSACTION READ WRITE"))
            connection.execute(SEAL)
            yield
            connection.execute(RELEASE)
            transaction.commit()
        finally:
            if transaction.is_active:
                transaction.rollback()
    finally:
        event.remove(connection, "after_cursor_execute", _stop_if_ended)
        if not connection.closed and not connection.invalidated:
            _set_session_read_only(connection, read_only=False)


def _set_session_read_only(connection: Connection, *, read_only: bool) -> None:
    connection.execute(
        text("SELECT set_config('default_transaction_read_only', :value, false)"),
        {"value": "on" if read_only else "off"},
    )
    connection.commit()


def _stop_if_ended(
    connection: Connection,
    cursor: Any,  # noqa: ARG001
    statement: str,
    parameters: Any,  # noqa: ARG001
    context: Any,  # noqa: ARG001
    executemany: bool,  # noqa: ARG001
) -> None:
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and (
        dbapi_connection.info.transaction_status == TRANSACTION_STATUS_IDLE
    ):
        raise EscapedError(statement)
