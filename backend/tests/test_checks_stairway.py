"""Every revision goes up, down and up again; a downgrade that leaves something behind fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, create_engine

from chat_backend.revisions.checks.stairway import check_stairway
from tests.alembic_support import HEAD, LAST, LATER, NEXT
from tests.checks_support import REAL, add_revision, copy_project


def test_the_real_tree_passes_and_ends_at_head(empty_database_url: URL) -> None:
    assert check_stairway(REAL.config(empty_database_url)) == []
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD
    engine.dispose()


def test_a_downgrade_that_forgets_a_column_fails(
    tmp_path: Path, empty_database_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = copy_project(tmp_path)
    upgrade = 'op.add_column("users", sa.Column("phone", sa.String(30)))'
    add_revision(layout, f"{NEXT}_add_phone.py", revision=NEXT, down_revision=HEAD, upgrade=upgrade)
    [failure] = check_stairway(layout.config(empty_database_url))
    assert str(failure).startswith(
        f"revision {NEXT} ({NEXT}_add_phone.py): stairway: the 'up again' step of up, down, "
        "up again failed: the database error is above; make downgrade() undo exactly what "
        "upgrade() does"
    )
    assert 'column "phone" of relation "users" already exists' in capsys.readouterr().err


def test_a_downgrade_that_raises_fails(tmp_path: Path, empty_database_url: URL) -> None:
    layout = copy_project(tmp_path)
    downgrade = 'raise NotImplementedError("no way back")'
    add_revision(
        layout, f"{NEXT}_oneway.py", revision=NEXT, down_revision=HEAD, downgrade=downgrade
    )
    [failure] = check_stairway(layout.config(empty_database_url))
    assert failure.where == f"revision {NEXT} ({NEXT}_oneway.py)"
    assert "the 'down' step" in failure.problem
    assert "NotImplementedError('no way back')" in failure.problem


def test_branches_and_their_merge_step_down_one_revision_at_a_time(
    tmp_path: Path, empty_database_url: URL
) -> None:
    layout = copy_project(tmp_path)
    for number, column in ((NEXT, "phone"), (LATER, "fax")):
        add_revision(
            layout,
            f"{number}_add_{column}.py",
            revision=number,
            down_revision=HEAD,
            upgrade=f'op.add_column("users", sa.Column("{column}", sa.String(30)))',
            downgrade=f'op.drop_column("users", "{column}")',
        )
    add_revision(layout, f"{LAST}_merge.py", revision=LAST, down_revision=(NEXT, LATER))
    assert check_stairway(layout.config(empty_database_url)) == []
