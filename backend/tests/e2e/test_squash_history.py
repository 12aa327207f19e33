"""`make squash` at scale on the real stack: 300 generated revisions (each a table with an
index) after the project's own revisions, squashed up to 300. Every database that exists either
carries on or is refused in one line and left as it was; a fresh volume built from the
checkpoint dumps exactly as the one that ran the 300 revisions; `make check` passes.

The host-side commands (`make squash`, `make check`, `make schema`, `make applied`) run as the
Makefile runs them, `python -m chat_backend.revisions ...` in backend/, with the copy's own
package (its models hold the generated tables, so that the drift check agrees).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chat_backend.revisions.checks.schema_dump import normalize
from tests.alembic_support import HEAD
from tests.e2e.compose_project import ComposeProject
from tests.squash_support import add_models, add_revisions, commit_all, git, git_identity

GENERATED = 300
# The head after them: the project's own revisions come first.
LAST = f"{int(HEAD) + GENERATED:03d}"
USER, PASSWORD = "chat", "chat-dev-password"  # compose.yaml's defaults
REFUSED = (
    "error: the database is at 150, before checkpoint 300 (revisions 001 to 300 were squashed "
    "into it, 300_checkpoint.py), so nothing was changed: run `git checkout {commit} && make "
    "migrate` first, then come back to this checkout, or `make reset`"
)


def host(project: ComposeProject, *args: str, database: str | None = None) -> str:
    """`python -m chat_backend.revisions ARGS` in the copy's backend/, as `make` runs it."""
    environment = {**os.environ, "PYTHONPATH": str(project.directory / "backend" / "src")}
    if database is not None:
        environment["DATABASE_URL"] = (
            f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{project.postgres_port}/{database}"
        )
    completed = subprocess.run(
        [sys.executable, "-m", "chat_backend.revisions", *args],
        cwd=project.directory / "backend",
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, f"{args} exited {completed.returncode}\n{completed.stderr}"
    return completed.stdout


def migrate(
    project: ComposeProject, database: str, revision: str = "head"
) -> subprocess.CompletedProcess[str]:
    """The migrator's own command, in the backend container, on one database of the stack."""
    url = f"postgresql://{USER}:{PASSWORD}@db:5432/{database}"
    command = ("exec", "-T", "-e", f"DATABASE_URL={url}", "backend", "alembic", "upgrade")
    return project.compose(*command, revision, check=False)


def version(project: ComposeProject, database: str) -> str:
    query = "SELECT string_agg(version_num, ',') FROM alembic_version"
    return project.compose(
        "exec", "-T", "db", "psql", "-U", USER, "-d", database, "-tAc", query
    ).stdout.strip()


def schema_dump(project: ComposeProject) -> str:
    dumped = project.compose("exec", "-T", "db", "pg_dump", "-U", USER, "--schema-only", "chat")
    return normalize(dumped.stdout)


def revision_files(project: ComposeProject) -> list[Path]:
    return sorted((project.directory / "backend" / "migrations" / "versions").glob("*.py"))


def test_300_revisions_fold_into_a_checkpoint_every_database_agrees_with(
    project: ComposeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_identity(monkeypatch)
    backend = project.directory / "backend"
    add_revisions(backend / "migrations" / "versions", GENERATED)
    add_models(backend / "src" / "chat_backend" / "models.py", GENERATED)
    host(project, "schema")
    git(project.directory, "init", "-q", "-b", "main")
    commit_all(project.directory, f"the project with {GENERATED + 3} revisions")
    commit = git(project.directory, "rev-parse", "HEAD").strip()

    project.compose("up", "--wait")
    assert version(project, "chat") == LAST
    ran_them = schema_dump(project)
    for database, revision in (("at_300", "300"), ("at_150", "150")):
        project.compose("exec", "-T", "db", "createdb", "-U", USER, database)
        assert migrate(project, database, revision).returncode == 0

    schema_sql = (project.directory / "db" / "schema.sql").read_bytes()
    host(project, "squash", "--upto", "300")
    assert len(revision_files(project)) < 10
    assert (project.directory / "db" / "schema.sql").read_bytes() == schema_sql

    # The stack's database (at the last generated revision) and one at 300 carry on;
    # checksums find nothing edited.
    project.compose("up", "--wait")
    assert project.state("migrator")["ExitCode"] == 0
    assert migrate(project, "at_300").returncode == 0
    assert version(project, "at_300") == LAST
    host(project, "applied", database="at_300")
    host(project, "applied", database="chat")

    # One below the checkpoint is refused in one line and stays where it was.
    refused = migrate(project, "at_150")
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert errors == [REFUSED.format(commit=commit[:12])]
    assert version(project, "at_150") == "150"

    assert "make check: all passed" in host(project, "check")

    # A fresh volume, as a new clone's `docker compose up` makes it, from the checkpoint.
    project.compose("down", "--volumes")
    project.compose("up", "--wait")
    assert version(project, "chat") == LAST
    assert schema_dump(project) == ran_them
