"""The revision that makes emails unique ignoring case, on a real PostgreSQL that already holds
users: case variants stop it with one line naming them and the fix, leaving the database where
it was; the index refuses case variants; the downgrade brings back the byte-wise constraint.

The revision is found by its file name, not its number, so renumbering it changes nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from chat_backend.db.revision_ids import declared_down_revision, declared_revision
from tests.alembic_support import BACKEND_DIR, migration_config
from tests.reliability_support import (
    assert_one_clean_error,
    command_env,
    migrations_copy,
    run_alembic,
)

[FILE] = (BACKEND_DIR / "migrations" / "versions").glob("*_emails_unique_ignoring_case.py")


def _declared(path: Path) -> tuple[str, str]:
    """The revision's id and the one it follows."""
    revision, before = declared_revision(path), declared_down_revision(path.read_text())
    assert isinstance(revision, str)
    assert isinstance(before, str)
    return revision, before


REVISION, BEFORE = _declared(FILE)
USERS = (
    "INSERT INTO users (username, email) VALUES ('ann', 'ann@example.com'), "
    "('bob', 'bob@example.com'), ('ann2', 'Ann@Example.com'), ('zed', NULL), ('zed2', NULL)"
)
FIX = (
    "Change or clear all but one address of each (UPDATE users SET email = NULL WHERE id = ...), "
    "then run `make migrate` again."
)
EMAIL_KEY = (
    "SELECT c.contype::text FROM pg_constraint c WHERE c.conname = 'uq_users_email' "
    "UNION ALL SELECT 'index on ' || pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "JOIN pg_class x ON x.oid = i.indexrelid WHERE x.relname = 'uq_users_email' "
    "AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = i.indexrelid)"
)


@pytest.fixture
def engine(empty_database_url: URL) -> Iterator[Engine]:
    engine = create_engine(empty_database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def scalars(engine: Engine, query: str) -> list[object]:
    with engine.connect() as connection:
        return list(connection.scalars(text(query)))


def test_case_variants_stop_the_upgrade_naming_them_and_the_fix(
    empty_database_url: URL, engine: Engine, tmp_path: Path
) -> None:
    command.upgrade(migration_config(empty_database_url), BEFORE)
    with engine.begin() as connection:
        connection.execute(text(USERS))
    directory = migrations_copy(tmp_path / "backend")
    env = command_env(empty_database_url)

    failed = run_alembic(directory, env, "upgrade", "head")

    assert failed.returncode == 1, failed.stderr
    password = empty_database_url.password
    assert isinstance(password, str)
    message = assert_one_clean_error(failed.stderr, password)
    assert message == (
        f"migration {REVISION} failed: users.email holds addresses that differ only in case, "
        "which must now be unique ignoring case: 'ann@example.com' and 'Ann@Example.com' "
        f"(ids 1, 3). Its transaction was rolled back; the database stays at revision {BEFORE}. "
        + FIX
    )
    assert scalars(engine, "SELECT version_num FROM alembic_version") == [BEFORE]
    assert scalars(engine, EMAIL_KEY) == ["u"]
    assert scalars(engine, "SELECT count(*) FROM users") == [5]

    with engine.begin() as connection:
        connection.execute(text("UPDATE users SET email = NULL WHERE id = 3"))
    fixed = run_alembic(directory, env, "upgrade", "head")

    assert fixed.returncode == 0, fixed.stderr
    assert scalars(engine, "SELECT version_num FROM alembic_version") == [REVISION]


def test_the_upgrade_keeps_users_and_refuses_case_variants(
    empty_database_url: URL, engine: Engine
) -> None:
    config = migration_config(empty_database_url)
    command.upgrade(config, BEFORE)
    with engine.begin() as connection:
        connection.execute(text(USERS.replace("'Ann@Example.com'", "'ann2@example.com'")))

    command.upgrade(config, REVISION)

    assert scalars(engine, "SELECT count(*) FROM users") == [5]
    assert scalars(engine, EMAIL_KEY) == [
        "index on CREATE UNIQUE INDEX uq_users_email ON public.users USING btree "
        "(lower((email)::text))"
    ]
    with pytest.raises(IntegrityError, match="uq_users_email"), engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (username, email) VALUES ('b', 'BOB@example.com')")
        )


def test_the_downgrade_restores_the_byte_wise_constraint(
    empty_database_url: URL, engine: Engine
) -> None:
    config = migration_config(empty_database_url)
    command.upgrade(config, REVISION)

    command.downgrade(config, BEFORE)

    assert scalars(engine, EMAIL_KEY) == ["u"]
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (username, email) VALUES ('a', 'a@x.org'), ('b', 'A@x.org')")
        )
    with pytest.raises(IntegrityError, match="uq_users_email"), engine.begin() as connection:
        connection.execute(text("INSERT INTO users (username, email) VALUES ('c', 'a@x.org')"))
