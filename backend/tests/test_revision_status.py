"""`make current` / `make history` (chat_backend.db.revision_status): Alembic's answers, with a
phantom revision marked instead of Alembic's "Can't locate revision"."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL

from chat_backend.db.revision_status import main, served
from tests.checks_support import add_revision, copy_project


@pytest.fixture
def at_004(tmp_path: Path, empty_database_url: URL, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database migrated with a 004; the file of 004 returned (still there)."""
    layout = copy_project(tmp_path)
    path = add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    command.upgrade(layout.config(empty_database_url), "head")
    monkeypatch.setenv("ALEMBIC_CONFIG", str(layout.alembic_ini))
    monkeypatch.setenv("DATABASE_URL", empty_database_url.render_as_string(hide_password=False))
    return path


PHANTOM = (
    "004 (phantom: applied, but not in this checkout; `make migrate` rolls it back after a "
    "snapshot)"
)


def test_current_marks_a_phantom(at_004: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["current"]) == 0
    assert "004 (head)" in capsys.readouterr().out

    at_004.unlink()
    assert main(["current"]) == 0
    assert capsys.readouterr().out.splitlines() == [PHANTOM, served(None)]


@pytest.mark.usefixtures("at_004")
def test_current_names_the_branch_whose_data_is_served(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["current"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "data: of no branch yet (the next migrator run on a git branch marks it)"
    )
    assert served("feature/x") == "data: branch 'feature/x' (other branches' data: `make branches`)"


def test_history_marks_a_phantom_above_the_checkout_s_revisions(
    at_004: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at_004.unlink()
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == PHANTOM
    assert any(line.startswith("Rev: 003 (head)") for line in lines)


def test_an_unknown_command_is_refused_with_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["heads"]) == 2
    assert "current|history" in capsys.readouterr().err
