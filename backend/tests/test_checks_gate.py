"""The whole gate: it passes on the real tree (so `make test`, and CI with it, runs the gate
too), and a broken revision map stops it before anything trusts that map."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import URL

from chat_backend.revisions.checks.failure import Failure
from chat_backend.revisions.checks.gate import run_gate
from chat_backend.revisions.head_file import write_head_file
from tests.checks_support import REAL, add_revision, copy_project, given

STEPS = [
    "revision numbering",
    "single head",
    "versions/HEAD names the head",
    "squawk lint of new revisions",
    "stairway: each revision up, down, up again",
    "models match migrations (alembic check)",
    "applied revisions unchanged (checksums)",
    "db/schema.sql up to date",
]


class Reports:
    def __init__(self) -> None:
        self.steps: list[tuple[str, list[Failure]]] = []

    def __call__(self, name: str, failures: list[Failure]) -> None:
        self.steps.append((name, failures))


def no_database() -> AbstractContextManager[URL]:
    raise AssertionError("the gate asked for a database after a failure that stops it")


def test_the_real_tree_passes_every_step(empty_database_url: URL) -> None:
    reports = Reports()
    assert run_gate(REAL, given(empty_database_url), reports) == []
    assert reports.steps == [(name, []) for name in STEPS]


def test_a_duplicate_revision_id_stops_the_gate_first(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    add_revision(layout, "004_add_fax.py", revision="004", down_revision="003")
    reports = Reports()
    [failure] = run_gate(layout, no_database, reports)
    assert failure.rule == "duplicate-revision-id"
    assert [name for name, _ in reports.steps] == ["revision numbering"]


def test_a_second_head_stops_the_gate(tmp_path: Path) -> None:
    layout = copy_project(tmp_path)
    add_revision(layout, "004_add_phone.py", revision="004", down_revision="003")
    add_revision(layout, "005_add_fax.py", revision="005", down_revision="003")
    [failure] = run_gate(layout, no_database, Reports())
    assert failure.rule == "single-head"


def test_a_new_revision_is_judged_by_every_step(tmp_path: Path, empty_database_url: URL) -> None:
    """An unsafe revision that the models and db/schema.sql do not know: lint, drift and the
    schema file fail; the stairway passes, since its downgrade is right."""
    layout = copy_project(tmp_path)
    add_revision(
        layout,
        "004_index_display_name.py",
        revision="004",
        down_revision="003",
        upgrade='op.create_index("ix_users_display_name", "users", ["display_name"])',
        downgrade='op.drop_index("ix_users_display_name", table_name="users")',
    )
    write_head_file(layout.script())  # as `make revision` does
    failures = run_gate(layout, given(empty_database_url), Reports())
    assert [failure.rule for failure in failures] == [
        "squawk require-concurrent-index-creation",
        "models-match-migrations",
        "schema-file-up-to-date",
    ]
    assert all(failure.where.startswith("revision 004 (004_index") for failure in failures)
