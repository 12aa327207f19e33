"""The gate fails on an applied revision whose file was edited afterwards."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import URL

from chat_backend.revisions.checks.applied import check_applied
from tests.checks_support import REAL, copy_project


def test_the_real_tree_matches_what_was_applied(database_url: URL) -> None:
    assert check_applied(REAL, database_url) == []


def test_an_applied_revision_edited_later_fails(tmp_path: Path, empty_database_url: URL) -> None:
    layout = copy_project(tmp_path)
    command.upgrade(layout.config(empty_database_url), "head")
    path = layout.versions_dir / "003_add_email_to_users.py"
    path.write_text(path.read_text().replace("String(length=255)", "String(length=320)"))
    [failure] = check_applied(layout, empty_database_url)
    assert failure.where == "revision 003 (003_add_email_to_users.py)"
    assert failure.rule == "edited-after-apply"
    assert "new revision" in failure.fix
