"""New revisions take the next number, are formatted on write, and autogenerate writes
nothing when there is nothing to write."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import URL

from chat_backend.db.revision_ids import declared_revision
from chat_backend.revisions.files import (
    autogenerate_revision,
    next_revision_id,
    write_merge,
    write_revision,
)
from tests.alembic_support import BACKEND_DIR, HEAD, LAST, LATER, NEXT
from tests.checks_support import REAL, add_revision, copy_project


def test_next_revision_id_follows_the_newest() -> None:
    assert next_revision_id(REAL.versions_dir) == NEXT


def test_next_revision_id_skips_a_file_number_in_use(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, f"{LATER}_misnamed.py", revision=NEXT, down_revision=HEAD)
    assert next_revision_id(layout.versions_dir) == LAST


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('revision: str = "007"', "007"),
        ('revision = "007"', "007"),
        ("revision = None", None),
        ('down_revision = "006"', None),
    ],
)
def test_declared_revision_reads_the_assignment(
    tmp_path: Path, source: str, expected: str | None
) -> None:
    path = tmp_path / "007_x.py"
    path.write_text(f"{source}\n")
    assert declared_revision(path) == expected


def test_revision_is_numbered_named_linked_and_formatted(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    path = write_revision(layout.config(), "add phone")
    assert path.name == f"{NEXT}_add_phone.py"
    assert declared_revision(path) == NEXT
    written = ScriptDirectory.from_config(layout.config()).get_revision(NEXT)
    assert written is not None
    assert written.down_revision == HEAD
    ruff = subprocess.run(["ruff", "format", "--check", str(path)], capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout


def test_merge_joins_two_heads_with_the_next_number(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, f"{NEXT}_add_phone.py", revision=NEXT, down_revision=HEAD)
    add_revision(layout, f"{LATER}_add_fax.py", revision=LATER, down_revision=HEAD)
    path = write_merge(layout.config(), "merge heads")
    assert path.name == f"{LAST}_merge_heads.py"
    script = layout.script()
    assert script.get_heads() == [LAST]
    merge = script.get_revision(LAST)
    assert merge is not None
    assert set(merge.down_revision or ()) == {NEXT, LATER}


def test_merge_refuses_a_single_head(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=rf"nothing to merge: there is one head \({HEAD}\)"):
        write_merge(copy_project(tmp_path).config(), "merge heads")


def test_autogenerate_without_changes_writes_nothing(
    tmp_path: Path, empty_database_url: URL
) -> None:
    layout = copy_project(tmp_path)
    before = sorted(layout.versions_dir.iterdir())
    assert autogenerate_revision(layout, "nothing", empty_database_url) is None
    assert sorted(layout.versions_dir.iterdir()) == before


def test_autogenerate_writes_what_the_models_add(tmp_path: Path, empty_database_url: URL) -> None:
    layout = copy_project(tmp_path)
    # 003 adds users.email; it goes with every revision after it.
    for later in layout.versions_dir.glob("*.py"):
        if later.name >= "003":
            later.unlink()
    path = autogenerate_revision(layout, "add email again", empty_database_url)
    assert path is not None
    assert path.name == "003_add_email_again.py"
    source = path.read_text()
    assert "op.add_column(" in source
    assert "'email'" in source or '"email"' in source


def test_make_revision_requires_a_message() -> None:
    make = subprocess.run(
        ["make", "-C", str(BACKEND_DIR.parent), "revision"], capture_output=True, text=True
    )
    assert make.returncode != 0
    assert 'm is required: make revision m="add email"' in make.stderr
