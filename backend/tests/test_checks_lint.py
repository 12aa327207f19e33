"""squawk judges each new revision's SQL: unsafe statements fail with the Alembic way to write
them, safe ones pass, and the baseline skips released revisions and accepts reviewed findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_backend.revisions.checks.lint import Baseline, check_lint
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import HEAD, LAST, LATER, NEXT
from tests.checks_support import REAL, add_revision, copy_project

UNSAFE = """
op.create_index("ix_users_display_name", "users", ["display_name"])
op.add_column("users", sa.Column("nickname", sa.String(50), nullable=False))
op.alter_column("users", "display_name", type_=sa.String(200))
op.drop_column("users", "last_login_at")
"""
SAFE = """
op.add_column("users", sa.Column("nickname", sa.String(50)))
with op.get_context().autocommit_block():
    op.create_index(
        "ix_users_display_name", "users", ["display_name"], postgresql_concurrently=True
    )
"""


@pytest.fixture
def project(tmp_path: Path) -> MigrationLayout:
    return copy_project(tmp_path)


def test_the_real_tree_passes() -> None:
    assert check_lint(REAL) == []


def test_unsafe_statements_fail_each_with_its_rule(project: MigrationLayout) -> None:
    add_revision(project, f"{NEXT}_unsafe.py", revision=NEXT, down_revision=HEAD, upgrade=UNSAFE)
    failures = check_lint(project)
    assert {failure.rule for failure in failures} == {
        "squawk require-concurrent-index-creation",
        "squawk adding-required-field",
        "squawk changing-column-type",
        "squawk ban-drop-column",
    }
    index = next(f for f in failures if f.rule == "squawk require-concurrent-index-creation")
    assert str(index).startswith(
        f"revision {NEXT} ({NEXT}_unsafe.py): squawk require-concurrent-index-creation: "
    )
    assert "`CREATE INDEX ix_users_display_name ON users (display_name)`" in index.problem
    assert "postgresql_concurrently=True" in index.fix
    assert "autocommit_block()" in index.fix


def test_the_safe_way_passes(project: MigrationLayout) -> None:
    add_revision(project, f"{NEXT}_safe.py", revision=NEXT, down_revision=HEAD, upgrade=SAFE)
    assert check_lint(project) == []


def test_a_concurrent_index_inside_the_transaction_fails(project: MigrationLayout) -> None:
    upgrade = """
    op.create_index("ix_users_display_name", "users", ["display_name"],
                    postgresql_concurrently=True)
    """
    add_revision(project, f"{NEXT}_index.py", revision=NEXT, down_revision=HEAD, upgrade=upgrade)
    [failure] = check_lint(project)
    assert failure.rule == "squawk ban-concurrent-index-creation-in-transaction"


def test_a_table_created_by_the_same_revision_may_be_indexed_at_once(
    project: MigrationLayout,
) -> None:
    upgrade = """
    op.create_table("tags", sa.Column("id", sa.BigInteger(), primary_key=True),
                    sa.Column("name", sa.Text(), nullable=False))
    op.create_index("ix_tags_name", "tags", ["name"])
    """
    add_revision(project, f"{NEXT}_tags.py", revision=NEXT, down_revision=HEAD, upgrade=upgrade)
    assert check_lint(project) == []


def test_the_baseline_accepts_a_reviewed_finding(project: MigrationLayout) -> None:
    add_revision(project, f"{NEXT}_unsafe.py", revision=NEXT, down_revision=HEAD, upgrade=UNSAFE)
    with project.squawk_baseline.open("a") as baseline:
        baseline.write(f"# last_login_at is unused since release 1.4\n{NEXT} ban-drop-column\n")
    rules = {failure.rule for failure in check_lint(project)}
    assert "squawk ban-drop-column" not in rules
    assert len(rules) == 3


def test_without_the_baseline_released_revisions_are_judged(project: MigrationLayout) -> None:
    project.squawk_baseline.write_text("")
    assert "squawk disallowed-unique-constraint" in {f.rule for f in check_lint(project)}


def test_baseline_reads_revisions_rules_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "baseline.txt"
    path.write_text(f"# released\n001\n\n{NEXT} ban-drop-column  # unused since 1.4\n")
    baseline = Baseline.read(path)
    assert baseline.skips("001")
    assert baseline.accepts("001", "any-rule")
    assert not baseline.skips(NEXT)
    assert baseline.accepts(NEXT, "ban-drop-column")
    assert not baseline.accepts(NEXT, "changing-column-type")


@pytest.mark.parametrize("parents", [(NEXT, LATER), (LATER, NEXT)])
def test_a_merge_is_not_blamed_for_its_branches(
    project: MigrationLayout, parents: tuple[str, str]
) -> None:
    drop = 'op.drop_column("users", "last_login_at")'
    add_revision(project, f"{NEXT}_drop.py", revision=NEXT, down_revision=HEAD, upgrade=drop)
    add_revision(project, f"{LATER}_other.py", revision=LATER, down_revision=HEAD)
    add_revision(project, f"{LAST}_merge.py", revision=LAST, down_revision=parents)
    assert [f.where for f in check_lint(project)] == [f"revision {NEXT} ({NEXT}_drop.py)"]


def test_a_revision_that_cannot_render_offline_fails(project: MigrationLayout) -> None:
    upgrade = 'op.get_bind().execute(sa.text("SELECT 1")).scalar_one()'
    add_revision(project, f"{NEXT}_query.py", revision=NEXT, down_revision=HEAD, upgrade=upgrade)
    [failure] = check_lint(project)
    assert (failure.where, failure.rule) == (f"revision {NEXT} ({NEXT}_query.py)", "offline-sql")
