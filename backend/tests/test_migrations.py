"""Every revision goes up, down and up again on a real PostgreSQL, leaves no trace when
reverted, keeps data it can keep, and matches the models.

pytest-alembic's built-in tests run beside these (bound to tests/conftest.py).
"""

from __future__ import annotations

import io
from itertools import combinations

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, create_engine, inspect, text

from tests.alembic_support import migration_config

REVISIONS = [
    rev.revision
    for rev in reversed(list(ScriptDirectory.from_config(migration_config()).walk_revisions()))
]

# Everything a migration can leave behind in the public schema, by kind and name.
SCHEMA_OBJECTS = text(
    """
    SELECT c.relkind::text, c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'type', t.typname FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
    UNION ALL
    SELECT 'function', p.proname FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    ORDER BY 1, 2
    """
)


def schema_objects(url: URL) -> list[tuple[str, str]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        objects = [(kind, name) for kind, name in connection.execute(SCHEMA_OBJECTS)]
    engine.dispose()
    return [obj for obj in objects if not obj[1].startswith("alembic_version")]


def current_revision(url: URL) -> str | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


def test_revisions_are_numbered_in_order() -> None:
    assert [f"{n:03d}" for n in range(1, len(REVISIONS) + 1)] == REVISIONS


@pytest.mark.parametrize("revision", REVISIONS)
def test_stairway(empty_database_url: URL, revision: str) -> None:
    """Each revision goes up, down and up again from its parent."""
    config = migration_config(empty_database_url)
    command.upgrade(config, revision)
    command.downgrade(config, "-1")
    command.upgrade(config, revision)
    assert current_revision(empty_database_url) == revision


def test_downgrade_to_base_leaves_no_trace(empty_database_url: URL) -> None:
    before = schema_objects(empty_database_url)
    config = migration_config(empty_database_url)
    command.upgrade(config, "head")
    assert schema_objects(empty_database_url) != before
    command.downgrade(config, "base")
    assert schema_objects(empty_database_url) == before


@pytest.mark.parametrize("revision", REVISIONS)
def test_each_downgrade_restores_the_parent_schema(empty_database_url: URL, revision: str) -> None:
    config = migration_config(empty_database_url)
    command.upgrade(config, f"{revision}-1" if revision != REVISIONS[0] else "base")
    parent = schema_objects(empty_database_url)
    command.upgrade(config, revision)
    command.downgrade(config, "-1")
    assert schema_objects(empty_database_url) == parent


def test_models_match_migrations(database_url: URL) -> None:
    """`alembic check`: autogenerate finds nothing to do at head."""
    command.check(migration_config(database_url))


@pytest.mark.parametrize(
    ("start", "end"), list(combinations(["base", *REVISIONS], 2)), ids=lambda rev: rev
)
def test_offline_sql_renders_for_every_range(start: str, end: str) -> None:
    """`alembic upgrade A:B --sql` and its reverse render without a database."""
    config = migration_config()
    config.output_buffer = io.StringIO()
    command.upgrade(config, f"{start}:{end}", sql=True)
    command.downgrade(config, f"{end}:{start}", sql=True)
    sql = config.output_buffer.getvalue()
    assert f"Running upgrade {'' if start == 'base' else start} -> " in sql
    assert f"Running downgrade {end} -> " in sql
    assert "COMMIT;" in sql


def test_users_survive_email_down_and_up(database_url: URL) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (username, display_name, email) VALUES "
                "('ada', 'Ada', 'ada@example.com'), ('alan', NULL, NULL)"
            )
        )
    config = migration_config(database_url)
    command.downgrade(config, "002")
    assert "email" not in {c["name"] for c in inspect(engine).get_columns("users")}
    command.upgrade(config, "head")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT username, display_name, email FROM users ORDER BY username")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("ada", "Ada", None), ("alan", None, None)]
