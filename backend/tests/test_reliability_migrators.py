"""Migrators under races and crashes, as real `alembic` processes on a real PostgreSQL:
eight at once, one killed mid-revision, one blocked by a session holding a table lock."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.lock_timeouts import lock_timeout_advice, locked_tables
from chat_backend.db.migration_runtime import LOCK_KEY
from tests.alembic_support import HEAD, NEXT, migration_config, write_revision
from tests.reliability_support import (
    COMMAND_TIMEOUT_S,
    alembic_command,
    assert_one_clean_error,
    command_env,
    migrations_copy,
    run_alembic,
)
from tests.waiting import wait_until

MIGRATORS = 8
WAITING = "Another migrator holds the migration lock; waiting for it to finish."
ADVISORY_LOCKS = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
# Revision 004 creates a table, then takes its time (SLOW_SECONDS, 30 by default).
SLOW_UPGRADE = """
import os

op.execute("CREATE TABLE half_done (id int)")
op.execute(f"SELECT pg_sleep({os.environ.get('SLOW_SECONDS', '30')})")
"""


@pytest.fixture
def watcher(empty_database_url: URL) -> Iterator[Engine]:
    """The test's own sessions on the database the migrators work on."""
    engine = create_engine(empty_database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def scalar(engine: Engine, query: str, **params: object) -> object:
    with engine.connect() as connection:
        return connection.scalar(text(query), params)


def test_eight_concurrent_migrators_apply_each_revision_once(
    empty_database_url: URL, watcher: Engine, tmp_path: Path
) -> None:
    directory = migrations_copy(tmp_path / "backend")
    env = command_env(empty_database_url)
    # The test holds the migrators' lock until all eight wait for it, so they all race for it
    # at the same instant when it is let go.
    with watcher.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        holder.commit()
        migrators = [
            subprocess.Popen(
                alembic_command("upgrade", "head"),
                cwd=directory,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(MIGRATORS)
        ]
        wait_until(
            lambda: holder.scalar(text(f"{ADVISORY_LOCKS} AND NOT granted")) == MIGRATORS,
            f"{MIGRATORS} migrators waiting for the lock",
            timeout_s=COMMAND_TIMEOUT_S,
        )
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        holder.commit()
    outputs = [migrator.communicate(timeout=COMMAND_TIMEOUT_S)[0] for migrator in migrators]

    assert [migrator.returncode for migrator in migrators] == [0] * MIGRATORS, outputs
    assert all(WAITING in output for output in outputs)
    log = "\n".join(outputs)
    for step in ("Running upgrade  -> 001", "Running upgrade 001 -> 002", "-> 003"):
        assert log.count(step) == 1, log
    assert scalar(watcher, "SELECT string_agg(version_num, ',') FROM alembic_version") == HEAD


def test_killed_migrator_leaves_the_last_committed_revision_and_no_lock(
    empty_database_url: URL, watcher: Engine, tmp_path: Path
) -> None:
    directory = migrations_copy(tmp_path / "backend")
    write_revision(
        directory / "migrations" / "versions",
        f"{NEXT}_slow.py",
        revision=NEXT,
        down_revision=HEAD,
        upgrade=SLOW_UPGRADE,
        downgrade='op.execute("DROP TABLE half_done")',
    )
    migrator = subprocess.Popen(
        alembic_command("upgrade", "head"),
        cwd=directory,
        env=command_env(empty_database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    backend_pid = wait_until(
        lambda: scalar(
            watcher,
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' "
            "AND state = 'active' AND datname = current_database()",
        ),
        f"revision {NEXT} to be in its pg_sleep",
    )
    assert migrator.poll() is None
    migrator.send_signal(signal.SIGKILL)
    migrator.wait()

    # Far sooner than the 30 s the statement would run: the server notices the lost client.
    wait_until(
        lambda: (
            not scalar(
                watcher, "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid", pid=backend_pid
            )
        ),
        "the killed migrator's session to end",
        timeout_s=10,
    )
    assert scalar(watcher, "SELECT version_num FROM alembic_version") == HEAD
    assert scalar(watcher, "SELECT to_regclass('half_done') IS NULL") is True
    assert scalar(watcher, ADVISORY_LOCKS) == 0

    rerun = run_alembic(
        directory, command_env(empty_database_url, SLOW_SECONDS="0"), "upgrade", "head"
    )
    assert rerun.returncode == 0, rerun.stderr
    assert scalar(watcher, "SELECT version_num FROM alembic_version") == NEXT
    assert scalar(watcher, "SELECT to_regclass('half_done') IS NOT NULL") is True


@pytest.fixture
def at_002_with_users_locked(empty_database_url: URL, watcher: Engine) -> Iterator[Connection]:
    """A database at 002, and an open transaction that has read `users` (so it holds a lock
    that ALTER TABLE users must wait for)."""
    command.upgrade(migration_config(empty_database_url), "002")
    with watcher.connect() as blocker:
        blocker.execute(text("SELECT count(*) FROM users"))
        yield blocker
        blocker.rollback()


def test_lock_contention_fails_fast_naming_the_table_and_the_fix(
    empty_database_url: URL, at_002_with_users_locked: Connection, watcher: Engine, tmp_path: Path
) -> None:
    directory = migrations_copy(tmp_path / "backend")
    env = command_env(empty_database_url, MIGRATION_LOCK_TIMEOUT_MS="300")

    failed = run_alembic(directory, env, "upgrade", "head")

    assert failed.returncode == 1
    password = empty_database_url.password
    assert isinstance(password, str)
    message = assert_one_clean_error(failed.stderr, password)
    assert message.startswith(
        "migration 003 failed: canceling statement due to lock timeout: another session "
        "holds a lock on users; find it with `SELECT pid, state, query FROM pg_stat_activity"
    )
    assert "raise MIGRATION_LOCK_TIMEOUT_MS" in message
    assert "the database stays at revision 002" in message
    # The query the message offers finds the blocking session.
    find = re.search(r"find it with `([^`]+)`", message)
    assert find is not None
    blocker_pid = at_002_with_users_locked.scalar(text("SELECT pg_backend_pid()"))
    with watcher.connect() as connection:
        assert blocker_pid in connection.scalars(text(find[1])).all()

    at_002_with_users_locked.rollback()
    assert run_alembic(directory, env, "upgrade", "head").returncode == 0
    assert scalar(watcher, "SELECT version_num FROM alembic_version") == HEAD


def test_lock_advice_names_the_tables_the_statement_waited_for(engine: Engine) -> None:
    with engine.connect() as blocker, engine.connect() as migrator:
        blocker.execute(text("SELECT count(*) FROM users, ai_chats"))
        assert locked_tables(migrator, 'ALTER TABLE "users" ADD COLUMN x int') == ["users"]
        # A statement that names neither: every table another session holds.
        assert locked_tables(migrator, "SELECT 1") == ["ai_chats", "users"]
        blocker.rollback()
        assert locked_tables(migrator, "ALTER TABLE users ADD COLUMN x int") == []
        assert lock_timeout_advice(migrator, "ALTER TABLE users ADD COLUMN x int").startswith(
            "another session held a lock on a table this revision changes, and has let go since"
        )
