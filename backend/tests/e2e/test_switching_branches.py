"""Switching branches on the real stack: the database follows the checkout, and two branches
that each numbered a revision 004 are renumbered instead of one being silently skipped.

A checkout is simulated by adding and removing revision files in the project's copy (the stack
mounts backend/migrations), and, for the merge, by a real git repository made of the copy. The
tests share one project and run in order, as a developer's week would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alembic_support import HEAD, write_revision
from tests.branch_support import ADD_NICKNAME, COLUMN, DROP_NICKNAME, USERS, VERSION
from tests.e2e.compose_project import ComposeProject, running_copy

NEXT = f"{int(HEAD) + 1:03d}"
AFTER = f"{int(HEAD) + 2:03d}"
ADD_USER = "op.execute(\"INSERT INTO users (username) VALUES ('USERNAME')\")"
DELETE_USER = "op.execute(\"DELETE FROM users WHERE username = 'USERNAME'\")"
NICKNAMES = "SELECT string_agg(username || '=' || nickname, ',' ORDER BY username) FROM users"


def prepare(project: ComposeProject) -> None:
    # A real password, so that the same stack can also be run with APP_ENV=production.
    (project.directory / ".env").write_text("POSTGRES_PASSWORD=e2e-switching-branches-pw\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    with running_copy(tmp_path_factory.mktemp("switching"), prepare) as project:
        yield project


def versions(stack: ComposeProject) -> Path:
    return stack.directory / "backend" / "migrations" / "versions"


def branch_revision(stack: ComposeProject) -> Path:
    return write_revision(
        versions(stack),
        f"{NEXT}_add_nickname.py",
        revision=NEXT,
        down_revision=HEAD,
        upgrade=ADD_NICKNAME,
        downgrade=DROP_NICKNAME,
    )


def migrator_errors(stack: ComposeProject) -> list[str]:
    """The migrator's error lines, without Compose's `migrator-1  | ` prefix."""
    lines = stack.logs("migrator").splitlines()
    return [line.split("| ", 1)[-1] for line in lines if "error:" in line]


def test_a_branch_revision_is_rolled_back_on_main_and_applied_again_on_the_branch(
    stack: ComposeProject,
) -> None:
    stack.sql("INSERT INTO users (username) VALUES ('ada'), ('bob'), ('eve')")
    branch_revision(stack)
    stack.make("migrate")
    stack.sql("UPDATE users SET nickname = 'the ' || username")
    saved = stack.sql(NICKNAMES)

    branch_revision(stack).unlink()  # git checkout main
    stack.timed_up()

    assert stack.sql(VERSION) == HEAD
    assert stack.sql(COLUMN) == "0"
    assert stack.sql(USERS) == "ada,bob,eve"
    assert stack.health().status_code == 200
    log = stack.logs("migrator")
    assert f"Rolled back phantom revision {NEXT} (not in this checkout)" in log
    snapshot = log.split("make restore name=", 1)[1].split("`", 1)[0]
    # `make up` shows what the migrator's latest run warned about.
    shown = stack.run("scripts/print-urls.sh").stdout
    assert f"migrator: Rolled back phantom revision {NEXT}" in shown
    assert f"bring it back with `make restore name={snapshot}`" in shown

    branch_revision(stack)  # git checkout the branch again
    stack.timed_up()

    assert stack.sql(VERSION) == NEXT
    assert stack.sql(NICKNAMES) == "ada=nick-ada,bob=nick-bob,eve=nick-eve"

    stack.make("restore", f"name={snapshot}", "FORCE=1")

    assert stack.sql(NICKNAMES) == saved


def test_in_production_a_phantom_changes_nothing_and_is_named_in_one_line(
    stack: ComposeProject,
) -> None:
    before = stack.sql(NICKNAMES)
    branch_revision(stack).unlink()

    production = stack.run(
        "env", "APP_ENV=production", "docker", "compose", "up", "--wait", check=False
    )

    assert production.returncode != 0
    [line] = migrator_errors(stack)
    assert line.startswith(
        f"error: the database is at revision {NEXT}, which is not rolled back automatically "
        "here; nothing was changed: refusing to replace, delete or roll back data when APP_ENV "
        "is 'production'"
    ), line
    assert stack.sql(VERSION) == NEXT
    assert stack.sql(NICKNAMES) == before

    stack.timed_up()  # back in development: rolled back
    assert stack.sql(VERSION) == HEAD


def git(stack: ComposeProject, *args: str) -> str:
    return stack.run("git", *args).stdout


def data_revision(stack: ComposeProject, name: str, username: str) -> None:
    """A revision that adds one user (and no schema, so the models still match)."""
    write_revision(
        versions(stack),
        f"{NEXT}_add_{name}.py",
        revision=NEXT,
        down_revision=HEAD,
        upgrade=ADD_USER.replace("USERNAME", username),
        downgrade=DELETE_USER.replace("USERNAME", username),
    )
    git(stack, "add", "-A")
    git(stack, "commit", "-qm", f"add {name}")


def test_two_branches_numbering_alike_are_refused_then_renumbered_and_applied_once(
    stack: ComposeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "Test")
        monkeypatch.setenv(f"{variable}_EMAIL", "test@example.com")
    git(stack, "init", "-q", "-b", "main")
    git(stack, "add", "-A")
    git(stack, "commit", "-qm", "the project")
    git(stack, "checkout", "-qb", "feature")
    data_revision(stack, "feature_user", "from-feature")
    stack.make("migrate")
    git(stack, "checkout", "-q", "main")
    data_revision(stack, "main_user", "from-main")
    git(stack, "checkout", "-q", "feature")
    git(stack, "merge", "-q", "--no-edit", "main")

    refused = stack.compose("up", "--wait", check=False)

    assert refused.returncode != 0
    assert migrator_errors(stack) == [
        f"error: revision {NEXT!r} is declared by {NEXT}_add_feature_user.py and "
        f"{NEXT}_add_main_user.py (two branches numbered a revision alike), so Alembic would "
        "run only one; nothing was migrated: run `make renumber` to move this branch's "
        "revisions after the base branch's head"
    ]
    assert stack.sql(VERSION) == NEXT
    assert "from-main" not in stack.sql(USERS)

    renumbered = stack.make("renumber")

    assert (
        f"renumber: {NEXT}_add_feature_user.py -> {AFTER}_add_feature_user.py "
        f"(revision {AFTER}, after {NEXT})" in renumbered.stdout
    )
    assert f"schema.sql (the schema at revision {AFTER})" in renumbered.stdout
    assert stack.sql(VERSION) == HEAD
    stack.make("check")
    stack.timed_up()

    assert stack.sql(VERSION) == AFTER
    assert stack.sql(USERS).split(",").count("from-main") == 1
    assert stack.sql(USERS).split(",").count("from-feature") == 1
    recorded = stack.sql(
        "SELECT string_agg(revision || '=' || sha256, ',' ORDER BY revision) "
        "FROM alembic_version_checksums WHERE revision::int > " + HEAD
    )
    files = {NEXT: f"{NEXT}_add_main_user.py", AFTER: f"{AFTER}_add_feature_user.py"}
    assert recorded == ",".join(
        f"{revision}={hashlib.sha256((versions(stack) / name).read_bytes()).hexdigest()}"
        for revision, name in files.items()
    )
