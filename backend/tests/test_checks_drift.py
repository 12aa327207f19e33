"""At head, the models match what the migrations build; a model column with no migration
fails, and the runtime's checksum table is not mistaken for drift."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import URL, create_engine, inspect

from chat_backend.db.revision_checksums import TABLE as CHECKSUM_TABLE
from chat_backend.revisions.checks.drift import check_drift
from tests.checks_support import REAL, copy_project


def test_the_real_tree_matches_its_models_beside_the_checksum_table(database_url: URL) -> None:
    engine = create_engine(database_url)
    assert inspect(engine).has_table(CHECKSUM_TABLE)
    engine.dispose()
    assert check_drift(REAL.config(database_url)) == []


def test_a_model_column_without_a_migration_fails(tmp_path: Path, empty_database_url: URL) -> None:
    layout = copy_project(tmp_path)
    # 003 adds users.email; it goes with every revision after it.
    for later in layout.versions_dir.glob("*.py"):
        if later.name >= "003":
            later.unlink()
    config = layout.config(empty_database_url)
    command.upgrade(config, "head")
    [failure] = check_drift(config)
    assert failure.where == "revision 002 (002_create_ai_chats.py) (head)"
    assert failure.rule == "models-match-migrations"
    assert "add_column users.email" in failure.problem
    assert "add_index uq_users_email" in failure.problem
    assert 'make revision m="..." AUTO=1' in failure.fix
