"""Each revision id is declared once, by a file named after it."""

from __future__ import annotations

from pathlib import Path

from chat_backend.revisions.checks.numbering import check_numbering
from tests.alembic_support import HEAD, LATER, NEXT
from tests.checks_support import REAL, add_revision, copy_project


def test_the_real_tree_is_numbered_well() -> None:
    assert check_numbering(REAL.versions_dir) == []


def test_two_files_with_one_revision_id_fail(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, f"{NEXT}_add_phone.py", revision=NEXT, down_revision=HEAD)
    add_revision(layout, f"{NEXT}_add_fax.py", revision=NEXT, down_revision=HEAD)
    [failure] = check_numbering(layout.versions_dir)
    assert failure.rule == "duplicate-revision-id"
    assert failure.where == f"revision {NEXT} ({NEXT}_add_fax.py, {NEXT}_add_phone.py)"
    assert failure.fix.startswith("run `make renumber`")
    assert f"renumber the newer one to '{LATER}' by hand" in failure.fix


def test_a_file_named_after_another_number_fails(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, f"{LATER}_add_phone.py", revision=NEXT, down_revision=HEAD)
    [failure] = check_numbering(layout.versions_dir)
    assert str(failure).startswith(
        f"revision {NEXT} ({LATER}_add_phone.py): file-name-matches-revision: "
    )


def test_two_files_with_one_number_fail(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, f"{NEXT}_add_phone.py", revision=NEXT, down_revision=HEAD)
    add_revision(layout, f"{NEXT}_add_fax.py", revision=LATER, down_revision=NEXT)
    [failure] = check_numbering(layout.versions_dir)
    assert (failure.where, failure.rule) == (
        f"revision {LATER} ({NEXT}_add_fax.py)",
        "file-name-matches-revision",
    )


def test_a_file_without_a_revision_id_fails(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    (layout.versions_dir / f"{NEXT}_stray.py").write_text("x = 1\n")
    [failure] = check_numbering(layout.versions_dir)
    assert (failure.where, failure.rule) == (f"file {NEXT}_stray.py", "revision-id")
