"""The seed tutorial's commands, run from backend/ exactly as it shows them, on a real database."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest
from sqlalchemy import URL, create_engine, inspect, text

from chat_backend.db.environment_marker import TABLE as MARKER_TABLE
from chat_backend.db.revision_checksums import TABLE as CHECKSUM_TABLE
from tests.alembic_support import BACKEND_DIR

Alembic = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def alembic(empty_database_url: URL) -> Alembic:
    """Run `alembic ARGS...` in backend/, against the test database via DATABASE_URL."""
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url.render_as_string(hide_password=False),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["alembic", *args],
            cwd=BACKEND_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )

    return run


def tables(url: URL) -> set[str]:
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names - {"alembic_version", CHECKSUM_TABLE, MARKER_TABLE}


def test_the_tutorial_in_order(alembic: Alembic, empty_database_url: URL) -> None:
    alembic("upgrade", "head")
    assert alembic("current").stdout.strip() == "003 (head)"

    history = alembic("history", "--verbose").stdout
    assert all(f"Rev: {rev}" in history for rev in ("001", "002", "003 (head)"))

    alembic("downgrade", "001")
    assert tables(empty_database_url) == {"users"}
    alembic("upgrade", "002")
    assert tables(empty_database_url) == {"users", "ai_chats"}
    alembic("downgrade", "-1")
    assert alembic("current").stdout.strip() == "001"


def test_stamp_adopts_a_database_that_already_has_the_table(
    alembic: Alembic, empty_database_url: URL
) -> None:
    offline = alembic("upgrade", "base:001", "--sql").stdout
    create_users = offline[offline.index("CREATE TABLE users") : offline.index("INSERT INTO")]
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(text(create_users))
    engine.dispose()

    alembic("stamp", "001")
    assert alembic("current").stdout.strip() == "001"
    alembic("upgrade", "head")
    assert tables(empty_database_url) == {"users", "ai_chats"}


def test_offline_sql_of_the_whole_history(alembic: Alembic) -> None:
    sql = alembic("upgrade", "head", "--sql").stdout
    assert sql.count("Running upgrade") == 3
    assert "CREATE TABLE ai_chats" in sql
    assert "gen_random_uuid()" in sql
    assert "UPDATE alembic_version SET version_num='003'" in sql
