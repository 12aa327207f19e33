"""Each revision id is declared once, by a file named after it."""

from __future__ import annotations

from pathlib import Path

from chat_backend.revisions.checks.numbering import check_numbering
from tests.checks_support import REAL, add_revision, copy_project


def test_the_real_tree_is_numbered_well() -> None:
    assert check_numbering(REAL.versions_dir) == []


def test_two_files_with_one_revision_id_fail(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    add_revision(layout, "004_add_fax.py", revision="004", down_revision="003")
    [failure] = check_numbering(layout.versions_dir)
    assert failure.rule == "duplicate-revision-id"
    assert failure.where == "revision 004 (004_add_fax.py, 004_add_phone.py)"
    assert failure.fix.startswith("run `make renumber`")
    assert "renumber the newer one to '005' by hand" in failure.fix


def test_a_file_named_after_another_number_fails(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "005_add_phone.py", revision="004", down_revision="003")
    [failure] = check_numbering(layout.versions_dir)
    assert str(failure).startswith("revision 004 (005_add_phone.py): file-name-matches-revision: ")


def test_two_files_with_one_number_fail(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    add_revision(layout, "004_add_fax.py", revision="005", down_revision="004")
    [failure] = check_numbering(layout.versions_dir)
    assert (failure.where, failure.rule) == (
        "revision 005 (004_add_fax.py)",
        "file-name-matches-revision",
    )


def test_a_file_without_a_revision_id_fails(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    (layout.versions_dir / "004_stray.py").write_text("x = 1\n")
    [failure] = check_numbering(layout.versions_dir)
    assert (failure.where, failure.rule) == ("file 004_stray.py", "revision-id")
