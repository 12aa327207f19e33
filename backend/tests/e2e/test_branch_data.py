"""Every branch keeps its own data, on the real stack, each switch a plain `docker compose up`
in a real git repository made of the project's copy: feature (a notes table and rows) -> main
(a user) -> feature (the notes are back, main's user is not) -> main (the user is back, no
notes table). The way back to main runs no stored downgrade: the branch's downgrade would fail
by then.

The tests share one project and run in order, as a developer's day would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.alembic_support import HEAD, write_revision
from tests.branch_support import USERS, VERSION
from tests.e2e.compose_project import ComposeProject
from tests.waiting import wait_until

NEXT = f"{int(HEAD) + 1:03d}"
CREATE_NOTES = """
op.create_table(
    "notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("body", sa.Text())
)
"""
# Fails once a 'poison' note exists: the proof that a switch did not run the stored downgrade.
DROP_NOTES = """
op.execute(
    "DO $$ BEGIN IF EXISTS (SELECT FROM notes WHERE body = 'poison') THEN "
    "RAISE EXCEPTION 'the stored downgrade ran'; END IF; END $$"
)
op.drop_table("notes")
"""
NOTES = "SELECT string_agg(body, ',' ORDER BY id) FROM notes"
HAS_NOTES = "SELECT to_regclass('notes') IS NOT NULL"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    """A copy of the project that is a git repository on `main`, with nothing started."""
    project = ComposeProject.copy_of_repo(tmp_path_factory.mktemp("branch-data") / "project")
    try:
        git(project, "init", "-q", "-b", "main")
        git(project, "add", "-A")
        git(project, "commit", "-qm", "the project")
        yield project
    finally:
        project.down()


def git(project: ComposeProject, *args: str) -> str:
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    return project.run("git", *identity, *args).stdout


def up(project: ComposeProject) -> str:
    """A plain `docker compose up --wait`; the migrator's log of this run."""
    before = project.logs("migrator")
    project.compose("up", "--wait")
    return project.logs("migrator").removeprefix(before)


def api_usernames(project: ComposeProject) -> list[str]:
    """The users the backend serves, through its connection pool (a real HTTP request). Right
    after a switch the schema guard may still answer 503 from its cache (2 s), with
    Retry-After: a client retries, and so does this."""
    url = f"http://127.0.0.1:{project.backend_port}/users"

    def served() -> httpx.Response | None:
        response = httpx.get(url, timeout=5)
        if response.status_code == 503 and "Retry-After" in response.headers:
            return None
        return response

    response = wait_until(served, "the backend to serve the data again", timeout_s=10)
    assert response is not None  # wait_until returns only a truthy answer
    assert response.status_code == 200, response.text
    return [user["username"] for user in response.json()["items"]]


def notes_revision(project: ComposeProject) -> Path:
    return write_revision(
        project.directory / "backend" / "migrations" / "versions",
        f"{NEXT}_add_notes.py",
        revision=NEXT,
        down_revision=HEAD,
        upgrade=CREATE_NOTES,
        downgrade=DROP_NOTES,
    )


def test_on_a_feature_branch_the_data_is_marked_as_its_own(repo: ComposeProject) -> None:
    git(repo, "checkout", "-qb", "feature")
    notes_revision(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "notes")

    up(repo)
    repo.sql("INSERT INTO notes (body) VALUES ('first'), ('second')")

    assert repo.sql(VERSION) == NEXT
    assert repo.health().json()["branch"] == "feature"


def test_leaving_the_branch_parks_its_data_then_rolls_back(repo: ComposeProject) -> None:
    git(repo, "checkout", "-q", "main")

    log = up(repo)
    repo.sql("INSERT INTO users (username) VALUES ('main-user')")

    assert f"the data of branch 'feature' (at revision {NEXT}) is parked" in log
    assert f"Rolled back phantom revision {NEXT}" in log
    assert repo.sql(HAS_NOTES) == "f"
    assert repo.health().json()["branch"] == "main"


def test_back_on_the_branch_its_rows_are_swapped_in_and_main_s_user_is_not(
    repo: ComposeProject,
) -> None:
    # The backend's pool holds connections to main's data: the swap must end them, and the
    # pool's next ones must reach the branch's data.
    assert "main-user" in api_usernames(repo)
    git(repo, "checkout", "-q", "feature")

    log = up(repo)

    assert repo.sql(VERSION) == NEXT
    assert repo.sql(NOTES) == "first,second"
    assert "main-user" not in repo.sql(USERS)
    assert "main-user" not in api_usernames(repo)
    assert repo.health().json()["branch"] == "feature"
    assert "serving the parked copy of branch 'feature'" in log
    assert "Rolled back" not in log
    repo.sql("INSERT INTO notes (body) VALUES ('poison')")


def test_back_on_main_its_user_returns_without_a_stored_downgrade(repo: ComposeProject) -> None:
    git(repo, "checkout", "-q", "main")

    log = up(repo)

    assert "serving the parked copy of branch 'main'" in log
    assert "Rolled back" not in log
    assert repo.sql(HAS_NOTES) == "f"
    assert "main-user" in repo.sql(USERS).split(",")
    assert "main-user" in api_usernames(repo)
    assert repo.sql(VERSION) == HEAD
    assert repo.health().json()["branch"] == "main"
    assert "data: branch 'main'" in repo.make("current").stdout


def test_make_branches_lists_the_parked_copy_and_drop_branch_deletes_it(
    repo: ComposeProject,
) -> None:
    listed = repo.make("branches").stdout.splitlines()

    assert listed[0] == "'chat' serves branch 'main'"
    assert listed[1].split() == ["BRANCH", "HEAD", "SIZE", "PARKED", "IN", "GIT"]
    assert listed[2].split()[:2] == ["feature", NEXT]
    assert listed[2].endswith("yes")

    repo.make("drop-branch", "name=feature")

    assert "no parked copies" in repo.make("branches").stdout
    refused = repo.make("drop-branch", "name=feature", check=False)
    assert refused.returncode != 0
    assert "there is no parked copy of branch 'feature'" in refused.stderr
