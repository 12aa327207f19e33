"""The migrator's first step on `alembic upgrade`, run as the migrator runs it (env.py, settings
from the environment) on a real server and a real git checkout: an unmarked database becomes
the branch's; the same branch never swaps (a new revision is upgraded in place); a parked copy
that does not fit is left alone; a refused rollback leaves the data the branch it was; an
unknown branch and production change nothing here (the phantom rollback decides, as before)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL

from chat_backend.config import load_settings
from chat_backend.db.branch_marker import marked_branch, marker_comment
from chat_backend.db.cluster import Cluster
from chat_backend.db.parked_copies import listing, park_clone, parked
from chat_backend.db.target import Target
from chat_backend.revisions.layout import MigrationLayout
from chat_backend.revisions.migration_plan import build_plan
from chat_backend.revisions.plan_report import as_json, as_text
from tests.alembic_support import HEAD
from tests.branch_support import VERSION
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
    monkeypatch: pytest.MonkeyPatch

    def migrate(self, app_env: str = "development", login: URL | None = None) -> None:
        """`alembic upgrade head` as the stack's migrator runs it: settings from the
        environment, the checkout mounted at CHECKOUT_DIR; as `login` if given."""
        url = self.target.url(self.target.database)
        if login is not None:
            url = url.set(username=login.username, password=login.password)
        self.monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
        self.monkeypatch.setenv("APP_ENV", app_env)
        self.monkeypatch.setenv("CHECKOUT_DIR", str(self.checkout))
        command.upgrade(self.layout.config(), "head")

    def revision(self) -> Path:
        return add_revision(self.layout, f"{NEXT}_x.py", revision=NEXT, down_revision=HEAD)

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
def stack(
    tmp_path: Path, server: Target, migrated_template: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    """On branch main, a database at the checkout's head, with one user."""
    layout = copy_project(tmp_path)
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.clone(migrated_template, target.database)
        query(target, "INSERT INTO users (username) VALUES ('ada')")
        stack = Stack(tmp_path, layout, server, target, monkeypatch)
        stack.git("init", "-q", "-b", "main")
        stack.git("add", "-A")
        stack.git("commit", "-qm", "the project")
        yield stack


def test_an_unmarked_database_becomes_the_checked_out_branch_s(stack: Stack) -> None:
    stack.migrate()

    assert stack.branch() == "main"
    assert stack.parked() == []


def test_on_the_same_branch_a_new_revision_upgrades_in_place(stack: Stack) -> None:
    stack.migrate()
    oid = query(stack.target, OID)
    stack.revision()

    stack.migrate()

    assert query(stack.target, VERSION) == [(NEXT,)]
    assert query(stack.target, OID) == oid
    assert stack.parked() == []
    assert stack.branch() == "main"


def test_a_new_branch_without_a_copy_takes_the_data_along(stack: Stack) -> None:
    stack.migrate()
    oid = query(stack.target, OID)
    stack.git("checkout", "-qb", "feature")

    stack.migrate()

    assert query(stack.target, OID) == oid
    assert stack.branch() == "feature"
    assert stack.parked() == []


def on_feature_at_next(stack: Stack) -> Path:
    """main's data, then branch feature's revision applied on it; the revision file."""
    stack.migrate()
    stack.git("checkout", "-qb", "feature")
    revision = stack.revision()
    stack.migrate()
    return revision


def test_a_copy_that_does_not_fit_is_left_and_the_data_parked_before_the_rollback(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    with Cluster.session(stack.server) as cluster:  # main's copy, from another 001
        copy = parked(stack.target.database, "main", ["001"], frozenset({("001", "0" * 64)}))
        park_clone(cluster, stack.target.database, copy)
    on_feature_at_next(stack).unlink()
    stack.git("checkout", "-q", "main")
    capsys.readouterr()

    stack.migrate()

    assert branch_lines(capsys) == [
        "Branch data: the parked copy of branch 'main' (at revision 001) does not fit this "
        "checkout (a revision it applied is missing or was edited): left as it is; "
        "`make drop-branch name=main` deletes it",
        f"Branch data: the data of branch 'feature' (at revision {NEXT}) is parked; branch "
        "'main' has no parked copy that fits, so the phantoms are rolled back from their "
        "stored source",
    ]
    assert stack.parked() == ["main", "feature"]
    assert query(stack.target, VERSION) == [(HEAD,)]
    assert stack.branch() == "main"


def test_a_refused_rollback_leaves_the_data_marked_as_the_branch_it_is(stack: Stack) -> None:
    on_feature_at_next(stack).unlink()
    query(stack.target, "UPDATE alembic_version_checksums SET source = NULL")
    stack.git("checkout", "-q", "main")

    with pytest.raises(SystemExit) as exited:
        stack.migrate()

    assert exited.value.code == 1
    assert query(stack.target, VERSION) == [(NEXT,)]
    assert stack.branch() == "feature"
    assert stack.parked() == ["feature"]


def test_an_unknown_branch_says_so_in_one_line_then_rolls_back_as_before(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.git("checkout", "-q", "--detach")
    query(
        stack.target, f'COMMENT ON DATABASE "{stack.target.database}" IS :c', c=marker_comment("x")
    )
    revision = stack.revision()
    stack.migrate()
    revision.unlink()
    capsys.readouterr()

    stack.migrate()

    [line] = branch_lines(capsys)
    assert line.startswith("Branch data: the branch is unknown (HEAD is detached at ")
    assert line.endswith(
        "so no copy is parked or swapped in; the phantoms are rolled back after a snapshot, as "
        "without branches"
    )
    assert query(stack.target, VERSION) == [(HEAD,)]
    assert stack.branch() == "x"
    assert stack.parked() == []


def test_in_production_nothing_is_marked_parked_or_swapped(
    stack: Stack, production_login: URL
) -> None:
    stack.migrate("production", production_login)

    assert stack.branch() is None
    assert stack.parked() == []


def test_make_plan_names_the_parked_copy_the_next_up_swaps_in(stack: Stack) -> None:
    """`make plan` asks what the migrator decides, changing nothing, and the migrator then
    does what the plan said."""
    on_feature_at_next(stack)
    stack.git("add", "-A")
    stack.git("commit", "-qm", "feature's revision")
    stack.git("checkout", "-q", "main")
    stack.migrate()  # feature's data parked, its revision rolled back: main's data served
    stack.git("checkout", "-q", "feature")

    plan = build_plan(stack.layout, load_settings())

    assert plan.swap_in is not None
    assert plan.swap_in.startswith(f"the parked copy of branch 'feature' (at revision {NEXT}")
    assert (plan.database_heads, plan.down, plan.up) == ([NEXT], [], [])
    assert f"  first: {plan.swap_in}" in as_text(plan)
    assert json.loads(as_json(plan))["swap_in"] == plan.swap_in
    assert query(stack.target, VERSION) == [(HEAD,)]  # the plan changed nothing
    assert stack.branch() == "main"

    stack.migrate()

    assert query(stack.target, VERSION) == [(NEXT,)]
    assert stack.branch() == "feature"
    assert stack.parked() == ["main"]
