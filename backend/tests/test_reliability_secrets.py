"""Secrets stay secret and odd input ends in one line: a password with an unescaped `@` or
`:` in DATABASE_URL, a .env that is not UTF-8, numbers beyond what PostgreSQL takes, and a
lock wait that a server-side statement_timeout cancels. Each runs the real `alembic`
command line, as the migrator does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.migration_runtime import LOCK_KEY
from tests.reliability_support import (
    assert_one_clean_error,
    command_env,
    migrations_copy,
    run_alembic,
)

PERCENT_ENCODE = (
    "DATABASE_URL: the password holds an unescaped @ or : (more than one @ before the host); "
    "percent-encode the password (@ as %40, : as %3A, / as %2F); "
    "set it to postgresql://USER:PASSWORD@HOST:PORT/DB, or unset it"
)


@pytest.fixture
def backend(tmp_path: Path) -> Path:
    return migrations_copy(tmp_path / "backend")


@pytest.mark.parametrize(
    ("password", "fragments"),
    [
        ("Sec@Ret7", ("Sec", "Ret7")),
        ("Se@Cr:Et9", ("Se@", "Cr:Et9", "Et9@")),
        ("Se:Cr@Et5", ("Se:Cr", "Et5")),
        ("Sec@Ret/X4", ("Ret", "X4")),
    ],
    ids=["at", "at-then-colon", "colon-then-at", "at-then-slash"],
)
def test_an_unescaped_at_in_the_password_is_refused_without_any_fragment(
    backend: Path, password: str, fragments: tuple[str, ...]
) -> None:
    url = f"postgresql://chat:{password}@localhost:5432/chat"

    failed = run_alembic(backend, command_env(DATABASE_URL=url), "upgrade", "head")

    assert failed.returncode == 2
    assert assert_one_clean_error(failed.stderr, password, *fragments) == PERCENT_ENCODE


def test_a_env_file_that_is_not_utf8_is_one_line(backend: Path) -> None:
    env_file = backend / ".env"
    env_file.write_bytes(b"APP_ENV=development\nPOSTGRES_PASSWORD=caf\xe9-Secret\n")

    failed = run_alembic(backend, command_env(), "upgrade", "head")

    assert failed.returncode == 2
    assert assert_one_clean_error(failed.stderr, "Secret") == (
        f"{env_file} line 2: byte 0xe9 is not UTF-8; save the file as UTF-8"
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "MIGRATION_LOCK_TIMEOUT_MS",
            "2147483648",
            "MIGRATION_LOCK_TIMEOUT_MS: Input should be less than or equal to 2147483647; "
            "set it to a whole number of milliseconds up to 2147483647, e.g. 5000",
        ),
        (
            "MIGRATION_STATEMENT_TIMEOUT_MS",
            "99999999999",
            "MIGRATION_STATEMENT_TIMEOUT_MS: Input should be less than or equal to 2147483647; "
            "set it to a whole number of milliseconds up to 2147483647, e.g. 600000",
        ),
        (
            "MIGRATION_CONNECT_TIMEOUT_S",
            "nan",
            "MIGRATION_CONNECT_TIMEOUT_S: Input should be a finite number; "
            "set it to a number of seconds up to 86400, e.g. 10",
        ),
    ],
    ids=["lock-timeout-beyond-int32", "statement-timeout-beyond-int32", "connect-timeout-nan"],
)
def test_numbers_postgresql_cannot_take_are_one_line(
    backend: Path, empty_database_url: URL, variable: str, value: str, expected: str
) -> None:
    failed = run_alembic(
        backend, command_env(empty_database_url, **{variable: value}), "upgrade", "head"
    )

    assert failed.returncode == 2
    assert assert_one_clean_error(failed.stderr) == expected


@pytest.fixture
def statement_timeout_database(empty_database_url: URL, admin: Engine) -> URL:
    """The test database with a server-side statement_timeout, as a DBA might set one."""
    with admin.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{empty_database_url.database}" SET statement_timeout = 300')
        )
    return empty_database_url


def test_a_lock_wait_cancelled_by_a_server_timeout_is_one_line(
    backend: Path, statement_timeout_database: URL
) -> None:
    holder = create_engine(statement_timeout_database, poolclass=NullPool)
    try:
        with holder.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            connection.commit()
            failed = run_alembic(
                backend, command_env(statement_timeout_database), "upgrade", "head"
            )
    finally:
        holder.dispose()

    assert failed.returncode == 2, failed.stderr
    assert assert_one_clean_error(failed.stderr).startswith(
        "waiting for the migration lock was cancelled by the server's statement_timeout (300ms, "
        "set for this role or database): another migrator holds the lock"
    )
