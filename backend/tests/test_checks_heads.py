"""The revisions form one line: a fork fails and names `make merge`."""

from __future__ import annotations

from pathlib import Path

from chat_backend.revisions.checks.heads import check_single_head
from tests.alembic_support import HEAD, LATER, NEXT
from tests.checks_support import REAL, add_revision, copy_project


def test_the_real_tree_has_one_head() -> None:
    assert check_single_head(REAL.script()) == []


def test_a_second_head_fails_and_names_make_merge(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, f"{NEXT}_add_phone.py", revision=NEXT, down_revision=HEAD)
    add_revision(layout, f"{LATER}_add_fax.py", revision=LATER, down_revision=HEAD)
    [failure] = check_single_head(layout.script())
    assert failure.where == f"revisions {NEXT}, {LATER} ({NEXT}_add_phone.py, {LATER}_add_fax.py)"
    assert failure.rule == "single-head"
    assert "make merge" in failure.fix
