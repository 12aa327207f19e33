"""The revisions form one line: a fork fails and names `make merge`."""

from __future__ import annotations

from pathlib import Path

from chat_backend.revisions.checks.heads import check_single_head
from tests.checks_support import REAL, add_revision, copy_project


def test_the_real_tree_has_one_head() -> None:
    assert check_single_head(REAL.script()) == []


def test_a_second_head_fails_and_names_make_merge(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    add_revision(layout, "005_add_fax.py", revision="005", down_revision="003")
    [failure] = check_single_head(layout.script())
    assert failure.where == "revisions 004, 005 (004_add_phone.py, 005_add_fax.py)"
    assert failure.rule == "single-head"
    assert "make merge" in failure.fix
