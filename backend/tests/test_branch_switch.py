"""What the migrator does first on `alembic upgrade`, on a real server and a real git checkout:
an unmarked database becomes the branch's; the same branch never swaps (a new revision is
upgraded in place); a parked copy that does not fit is left alone; an unknown branch and
production change nothing here (the phantom rollback decides, as before)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command

from chat_backend.config import Settings
from chat_backend.db.branch_marker import marked_branch, marker_comment
from chat_backend.db.branch_switch import switch_branch
from chat_backend.db.parked_copies import listing, park_clone, parked
from chat_backend.local_db.cluster import Cluster
from chat_backend.local_db.target import Target
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import HEAD
from tests.checks_support import add_revision, copy_project
from tests.local_db_support import own_database, query

NEXT = f"{int(HEAD) + 1:03d}"
OID = "SELECT oid FROM pg_database WHERE datname = current_database()"


@dataclass
class Stack:
    """A checkout (a git repository holding a copy of the migrations) and its database."""

    checkout: Path
    layout: MigrationLayout
    server: Target
    target: Target

    def settings(self, app_env: str) -> Settings:
        url = self.target.url(self.target.database).render_as_string(hide_password=False)
        return Settings.model_validate(
            {"app_env": app_env, "database_url": url, "checkout_dir": self.checkout}
        )

    def switch(self, app_env: str = "development") -> None:
        switch_branch(None, self.settings(app_env), self.layout.script(), upgrading=True)

    def upgrade(self) -> None:
        command.upgrade(self.layout.config(self.target.url(self.target.database)), "head")

    def git(self, *args: str) -> None:
        identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
        subprocess.run(
            ["git", *identity, *args], cwd=self.checkout, check=True, capture_output=True
        )

    def branch(self) -> str | None:
        with Cluster.session(self.server) as cluster:
            return marked_branch(cluster.comment(self.target.database))

    def parked(self) -> list[str]:
        with Cluster.session(self.server) as cluster:
            return [copy.branch for copy in listing(cluster, self.target.database)]


def branch_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The migrator's branch-data lines on stderr (alembic.ini's format, prefix cut)."""
    lines = capsys.readouterr().err.splitlines()
    return [line.split("] ", 1)[-1] for line in lines if "Branch data:" in line]


@pytest.fixture
def stack(tmp_path: Path, server: Target, migrated_template: str) -> Iterator[Stack]:
    """On branch main, a database at the checkout's head, with one user."""
    layout = copy_project(tmp_path)
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.clone(migrated_template, target.database)
        query(target, "INSERT INTO users (username) VALUES ('ada')")
        stack = Stack(tmp_path, layout, server, target)
        stack.git("init", "-q", "-b", "main")
        stack.git("add", "-A")
        stack.git("commit", "-qm", "the project")
        yield stack


def test_an_unmarked_database_becomes_the_checked_out_branch_s(stack: Stack) -> None:
    stack.switch()

    assert stack.branch() == "main"
    assert stack.parked() == []


def test_on_the_same_branch_a_new_revision_upgrades_in_place(stack: Stack) -> None:
    stack.switch()
    oid = query(stack.target, OID)
    add_revision(stack.layout, f"{NEXT}_x.py", revision=NEXT, down_revision=HEAD)

    stack.switch()
    stack.upgrade()

    assert query(stack.target, OID) == oid
    assert stack.parked() == []
    assert stack.branch() == "main"


def test_a_new_branch_without_a_copy_takes_the_data_along(stack: Stack) -> None:
    stack.switch()
    oid = query(stack.target, OID)
    stack.git("checkout", "-qb", "feature")

    stack.switch()

    assert query(stack.target, OID) == oid
    assert stack.branch() == "feature"
    assert stack.parked() == []


def test_a_copy_that_does_not_fit_is_left_and_the_data_parked_before_the_rollback(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.switch()
    with Cluster.session(stack.server) as cluster:  # main's copy, from an older 001
        copy = parked(stack.target.database, "main", ["001"], frozenset({("001", "0" * 64)}))
        park_clone(cluster, stack.target.database, copy)
    stack.git("checkout", "-qb", "feature")
    revision = add_revision(stack.layout, f"{NEXT}_x.py", revision=NEXT, down_revision=HEAD)
    stack.switch()
    stack.upgrade()
    revision.unlink()
    stack.git("checkout", "-q", "main")

    capsys.readouterr()
    stack.switch()
    lines = branch_lines(capsys)

    assert stack.parked() == ["main", "feature"]
    assert stack.branch() == "main"
    assert (
        "Branch data: the parked copy of branch 'main' (at revision 001) does not fit this "
        "checkout (a revision it applied is missing or was edited): left as it is; "
        "`make drop-branch name=main` deletes it"
    ) in lines
    assert (
        f"Branch data: the data of branch 'feature' (at revision {NEXT}) is parked; branch 'main' "
        "has no parked copy that fits, so the phantoms are rolled back from their stored source"
    ) in lines


def test_an_unknown_branch_says_so_in_one_line_and_changes_nothing(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.git("checkout", "-q", "--detach")
    query(stack.target, f"COMMENT ON DATABASE {stack.target.database} IS :c", c=marker_comment("x"))
    revision = add_revision(stack.layout, f"{NEXT}_x.py", revision=NEXT, down_revision=HEAD)
    stack.upgrade()
    revision.unlink()

    capsys.readouterr()
    stack.switch()
    lines = branch_lines(capsys)

    [line] = lines
    assert line.startswith("Branch data: the branch is unknown (HEAD is detached at ")
    assert line.endswith(
        "so no copy is parked or swapped in; the phantoms are rolled back after a snapshot, as "
        "without branches"
    )
    assert stack.branch() == "x"
    assert stack.parked() == []


def test_in_production_nothing_is_marked_parked_or_swapped(stack: Stack) -> None:
    stack.switch("production")

    assert stack.branch() is None
    assert stack.parked() == []
