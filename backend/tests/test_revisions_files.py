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
from tests.alembic_support import BACKEND_DIR
from tests.checks_support import REAL, add_revision, copy_project


def test_next_revision_id_follows_the_newest() -> None:
    assert next_revision_id(REAL.versions_dir) == "004"


def test_next_revision_id_skips_a_file_number_in_use(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "005_misnamed.py", revision="004", down_revision="003")
    assert next_revision_id(layout.versions_dir) == "006"


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
    assert path.name == "004_add_phone.py"
    assert declared_revision(path) == "004"
    written = ScriptDirectory.from_config(layout.config()).get_revision("004")
    assert written is not None
    assert written.down_revision == "003"
    ruff = subprocess.run(["ruff", "format", "--check", str(path)], capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout


def test_merge_joins_two_heads_with_the_next_number(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    add_revision(layout, "005_add_fax.py", revision="005", down_revision="003")
    path = write_merge(layout.config(), "merge heads")
    assert path.name == "006_merge_heads.py"
    script = layout.script()
    assert script.get_heads() == ["006"]
    merge = script.get_revision("006")
    assert merge is not None
    assert set(merge.down_revision or ()) == {"004", "005"}


def test_merge_refuses_a_single_head(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nothing to merge: there is one head \(003\)"):
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
    (layout.versions_dir / "003_add_email_to_users.py").unlink()
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
