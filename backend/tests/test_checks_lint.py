"""squawk judges each new revision's SQL: unsafe statements fail with the Alembic way to write
them, safe ones pass, and the baseline skips released revisions and accepts reviewed findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_backend.revisions.checks.lint import Baseline, check_lint
from chat_backend.revisions.layout import MigrationLayout
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
    add_revision(project, "004_unsafe.py", revision="004", down_revision="003", upgrade=UNSAFE)
    failures = check_lint(project)
    assert {failure.rule for failure in failures} == {
        "squawk require-concurrent-index-creation",
        "squawk adding-required-field",
        "squawk changing-column-type",
        "squawk ban-drop-column",
    }
    index = next(f for f in failures if f.rule == "squawk require-concurrent-index-creation")
    assert str(index).startswith(
        "revision 004 (004_unsafe.py): squawk require-concurrent-index-creation: "
    )
    assert "`CREATE INDEX ix_users_display_name ON users (display_name)`" in index.problem
    assert "postgresql_concurrently=True" in index.fix
    assert "autocommit_block()" in index.fix


def test_the_safe_way_passes(project: MigrationLayout) -> None:
    add_revision(project, "004_safe.py", revision="004", down_revision="003", upgrade=SAFE)
    assert check_lint(project) == []


def test_a_concurrent_index_inside_the_transaction_fails(project: MigrationLayout) -> None:
    upgrade = """
    op.create_index("ix_users_display_name", "users", ["display_name"],
                    postgresql_concurrently=True)
    """
    add_revision(project, "004_index.py", revision="004", down_revision="003", upgrade=upgrade)
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
    add_revision(project, "004_tags.py", revision="004", down_revision="003", upgrade=upgrade)
    assert check_lint(project) == []


def test_the_baseline_accepts_a_reviewed_finding(project: MigrationLayout) -> None:
    add_revision(project, "004_unsafe.py", revision="004", down_revision="003", upgrade=UNSAFE)
    with project.squawk_baseline.open("a") as baseline:
        baseline.write("# last_login_at is unused since release 1.4\n004 ban-drop-column\n")
    rules = {failure.rule for failure in check_lint(project)}
    assert "squawk ban-drop-column" not in rules
    assert len(rules) == 3


def test_without_the_baseline_released_revisions_are_judged(project: MigrationLayout) -> None:
    project.squawk_baseline.write_text("")
    assert "squawk disallowed-unique-constraint" in {f.rule for f in check_lint(project)}


def test_baseline_reads_revisions_rules_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "baseline.txt"
    path.write_text("# released\n001\n\n004 ban-drop-column  # unused since 1.4\n")
    baseline = Baseline.read(path)
    assert baseline.skips("001")
    assert baseline.accepts("001", "any-rule")
    assert not baseline.skips("004")
    assert baseline.accepts("004", "ban-drop-column")
    assert not baseline.accepts("004", "changing-column-type")


@pytest.mark.parametrize("parents", [("004", "005"), ("005", "004")])
def test_a_merge_is_not_blamed_for_its_branches(
    project: MigrationLayout, parents: tuple[str, str]
) -> None:
    drop = 'op.drop_column("users", "last_login_at")'
    add_revision(project, "004_drop.py", revision="004", down_revision="003", upgrade=drop)
    add_revision(project, "005_other.py", revision="005", down_revision="003")
    add_revision(project, "006_merge.py", revision="006", down_revision=parents)
    assert [f.where for f in check_lint(project)] == ["revision 004 (004_drop.py)"]


def test_a_revision_that_cannot_render_offline_fails(project: MigrationLayout) -> None:
    upgrade = 'op.get_bind().execute(sa.text("SELECT 1")).scalar_one()'
    add_revision(project, "004_query.py", revision="004", down_revision="003", upgrade=upgrade)
    [failure] = check_lint(project)
    assert (failure.where, failure.rule) == ("revision 004 (004_query.py)", "offline-sql")
