"""The gate fails on an applied revision whose file was edited afterwards; `make applied`
says the same of the configured database, and names the setting when it cannot reach it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, create_engine, update
from sqlalchemy.pool import NullPool

from chat_backend.db.revision_checksums import checksums
from chat_backend.revisions.checks.applied import check_applied
from chat_backend.revisions.cli import main
from chat_backend.revisions.throwaway_postgres import free_port
from tests.checks_support import REAL, copy_project
from tests.reliability_support import SETTINGS


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


def test_an_edited_revision_shows_the_stored_source_against_the_file(
    tmp_path: Path, empty_database_url: URL
) -> None:
    layout = copy_project(tmp_path)
    command.upgrade(layout.config(empty_database_url), "head")
    path = layout.versions_dir / "003_add_email_to_users.py"
    path.write_text(path.read_text().replace("String(length=255)", "String(length=320)"))
    [failure] = check_applied(layout, empty_database_url)
    lines = failure.details.splitlines()
    assert lines[:2] == [
        "--- revision 003 as the database applied it",
        "+++ backend/migrations/versions/003_add_email_to_users.py",
    ]
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line for line in lines if line.startswith("+") and not line.startswith("+++")]
    assert len(removed) == len(added) == 1
    assert "String(length=255)" in removed[0]
    assert added[0] == removed[0].replace("255", "320").replace("-", "+", 1)


def test_a_revision_applied_before_sources_were_stored_says_there_is_no_diff(
    tmp_path: Path, empty_database_url: URL
) -> None:
    layout = copy_project(tmp_path)
    command.upgrade(layout.config(empty_database_url), "head")
    engine = create_engine(empty_database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(update(checksums).values(source=None))
    engine.dispose()
    path = layout.versions_dir / "003_add_email_to_users.py"
    path.write_text(path.read_text().replace("String(length=255)", "String(length=320)"))
    [failure] = check_applied(layout, empty_database_url)
    assert failure.details == (
        "(no diff: the database applied it before it kept sources, so only its checksum is known)"
    )


def test_make_applied_names_the_database_setting_in_one_line_when_it_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://chat:secret@127.0.0.1:{port}/chat")
    monkeypatch.setenv("MIGRATION_CONNECT_TIMEOUT_S", "0")
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(REAL.alembic_ini), "applied"])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: cannot reach the database at 127.0.0.1:{port} (")
    assert "check that DATABASE_URL point at it" in line
    assert "secret" not in line
