"""`make doctor` on revisions: two files declaring one id, and a local database ahead of the
checkout (a phantom revision), each with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.doctor.report import Level
from chat_backend.doctor.revisions import check_revisions
from tests.alembic_support import HEAD, NEXT
from tests.checks_support import add_revision, copy_project


def use_database(monkeypatch: pytest.MonkeyPatch, url: URL) -> None:
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))


def test_two_files_declaring_one_id_block_with_the_fix(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, f"{NEXT}_add_phone.py", revision=NEXT, down_revision=HEAD)
    add_revision(layout, f"{NEXT}_add_avatar.py", revision=NEXT, down_revision=HEAD)

    [finding] = check_revisions(tmp_path)

    assert finding.level is Level.FAIL
    assert (
        f"revision '{NEXT}' is declared by {NEXT}_add_avatar.py and {NEXT}_add_phone.py"
        in finding.message
    )
    assert finding.message.endswith(
        "the migrator refuses to run: run `make renumber` to move "
        "this branch's revisions after the base branch's head"
    )


def test_a_database_ahead_of_the_checkout_is_named_with_the_fix(
    tmp_path: Path, empty_database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = copy_project(tmp_path)
    path = add_revision(layout, f"{NEXT}_add_phone.py", revision=NEXT, down_revision=HEAD)
    command.upgrade(layout.config(empty_database_url), "head")
    path.unlink()
    use_database(monkeypatch, empty_database_url)

    files, database = check_revisions(tmp_path)

    assert files.level is Level.OK
    assert database.level is Level.WARN
    assert database.message.startswith(
        f"local database is ahead of this checkout: the database is at revision {NEXT}, which this "
        "checkout does not have"
    )
    assert "`make migrate` (or `docker compose up`) rolls it back" in database.message

    engine = create_engine(empty_database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version_checksums SET source = NULL"))
    engine.dispose()
    [_, unstored] = check_revisions(tmp_path)
    assert unstored.level is Level.FAIL
    assert f"the source of {NEXT} was never stored" in unstored.message


def test_a_database_at_a_known_revision_or_not_running_is_fine(
    tmp_path: Path, database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_project(tmp_path)
    use_database(monkeypatch, database_url)
    assert check_revisions(tmp_path)[1].message == "local database: at a revision this checkout has"

    use_database(monkeypatch, database_url.set(port=1))
    [_, stopped] = check_revisions(tmp_path)
    assert stopped.level is Level.OK
    assert "not reachable" in stopped.message
