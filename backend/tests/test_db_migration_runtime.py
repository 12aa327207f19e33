"""The migrator's runtime in process, on a real PostgreSQL: the connection it migrates on, the
advisory lock and the timeouts it sets, and the one-line failure report.
(tests/test_reliability_migrators.py runs the same code as real `alembic` processes.)"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy import URL, Connection, Engine, TextClause, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from chat_backend.config import Settings
from chat_backend.db.migration_runtime import (
    LOCK_KEY,
    connection_for,
    failure_message,
    migration_lock,
)
from chat_backend.revisions.throwaway_postgres import free_port
from tests.alembic_support import HEAD, migration_config
from tests.waiting import wait_until

WAITING = "Another migrator holds the migration lock; waiting for it to finish."
# In this test's database only: pg_locks lists the whole server's, and the server may be
# shared with the other workers' migrators (the stack's db, from the dev container).
LOCK_HOLDERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND objid = (:key & 4294967295) AND classid = (:key >> 32) "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
LOCK_WAITERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND objid = (:key & 4294967295) AND classid = (:key >> 32) "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def settings_for(url: URL, **overrides: object) -> Settings:
    raw = url.render_as_string(hide_password=False)
    return Settings.model_validate({"database_url": SecretStr(raw), **overrides})


@pytest.fixture
def sessions(empty_database_url: URL) -> Iterator[Engine]:
    """Sessions on the test's own database: migrators and onlookers alike."""
    engine = create_engine(empty_database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def count(engine: Engine, query: TextClause) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(query, {"key": LOCK_KEY}) or 0)


def test_the_lock_is_held_with_the_timeouts_and_no_open_transaction(
    sessions: Engine, empty_database_url: URL
) -> None:
    settings = settings_for(
        empty_database_url, migration_lock_timeout_ms=1234, migration_statement_timeout_ms=56789
    )
    with sessions.connect() as connection:
        with migration_lock(connection, settings):
            # Committed before Alembic starts: its migrations must not run inside our transaction.
            assert not connection.in_transaction()
            assert count(sessions, LOCK_HOLDERS) == 1
            assert connection.scalar(text("SHOW lock_timeout")) == "1234ms"
            assert connection.scalar(text("SHOW statement_timeout")) == "56789ms"
            assert connection.scalar(text("SHOW client_connection_check_interval")) == "1s"
            connection.rollback()
        assert count(sessions, LOCK_HOLDERS) == 0


def test_a_failure_inside_rolls_back_and_lets_go_of_the_lock(
    sessions: Engine, empty_database_url: URL
) -> None:
    settings = settings_for(empty_database_url)
    with sessions.connect() as connection:
        with pytest.raises(DBAPIError):
            create_a_table_then_fail(connection, settings)
        assert connection.scalar(text("SELECT to_regclass('half_done')")) is None
        connection.rollback()
    assert count(sessions, LOCK_HOLDERS) == 0


def create_a_table_then_fail(connection: Connection, settings: Settings) -> None:
    with migration_lock(connection, settings):
        connection.execute(text("CREATE TABLE half_done (id int)"))
        connection.execute(text("SELECT 1/0"))


def test_a_second_migrator_waits_for_the_first(
    sessions: Engine, empty_database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(empty_database_url)
    events: list[str] = []

    def second_migrator() -> None:
        with sessions.connect() as connection, migration_lock(connection, settings):
            events.append("second has the lock")

    with sessions.connect() as first, caplog.at_level(logging.INFO):
        with migration_lock(first, settings):
            second = threading.Thread(target=second_migrator)
            second.start()
            wait_until(lambda: count(sessions, LOCK_WAITERS) == 1, "the second to queue")
            events.append("first lets go")
        second.join(timeout=30)
        first.rollback()

    assert not second.is_alive()
    assert events == ["first lets go", "second has the lock"]
    assert WAITING in caplog.text


def test_a_handed_in_connection_is_used_as_it_is(sessions: Engine, empty_database_url: URL) -> None:
    settings = settings_for(empty_database_url)
    with sessions.connect() as handed_in:
        with connection_for(handed_in, settings) as connection:
            assert connection is handed_in
        assert not handed_in.closed


def test_without_one_it_connects_from_the_settings(empty_database_url: URL) -> None:
    settings = settings_for(empty_database_url)
    with connection_for(None, settings) as connection:
        assert connection.scalar(text("SELECT current_database()")) == empty_database_url.database
    assert connection.closed


def test_an_unreachable_database_exits_1_with_one_line(
    empty_database_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    settings = settings_for(empty_database_url.set(port=port), migration_connect_timeout_s=0)

    with pytest.raises(SystemExit) as exited, connection_for(None, settings):
        pytest.fail("connected to a port nothing listens on")

    assert exited.value.code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: cannot reach the database at {empty_database_url.host}:{port}")


@pytest.fixture
def at_head_with_users_locked(sessions: Engine, empty_database_url: URL) -> Iterator[None]:
    """The database at head, and another session holding a lock on `users`."""
    command.upgrade(migration_config(empty_database_url), "head")
    with sessions.connect() as blocker:
        blocker.execute(text("SELECT count(*) FROM users"))
        yield
        blocker.rollback()


@pytest.mark.usefixtures("at_head_with_users_locked")
def test_a_lock_timeout_is_reported_naming_the_table_and_the_revision_kept(
    sessions: Engine,
) -> None:
    script = ScriptDirectory.from_config(migration_config())
    with sessions.connect() as migrator:
        migrator.execute(text("SET lock_timeout = '50ms'"))
        error = failing(migrator, "ALTER TABLE users ADD COLUMN phone text")
        message = failure_message(migrator, script, error)

    assert message.startswith(
        f"migration after {HEAD} failed: canceling statement due to lock timeout: another "
    )
    assert "session holds a lock on users; find it with `SELECT pid, state, query FROM " in message
    assert message.endswith(
        f"Its transaction was rolled back; the database stays at revision {HEAD}. "
        "Nothing in the revision needs fixing."
    )


def test_a_failing_statement_names_the_next_revision_and_the_fix(
    sessions: Engine, empty_database_url: URL
) -> None:
    script = ScriptDirectory.from_config(migration_config())
    command.upgrade(migration_config(empty_database_url), "001")
    with sessions.connect() as migrator:
        error = failing(migrator, "ALTER TABLE no_such_table ADD COLUMN x int")
        message = failure_message(migrator, script, error)

    assert message == (
        'migration 002 failed: relation "no_such_table" does not exist. Its transaction was '
        "rolled back; the database stays at revision 001. Fix the revision, then run "
        "`make migrate` again."
    )


def failing(connection: Connection, statement: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as raised:
        connection.execute(text(statement))
    return raised.value
