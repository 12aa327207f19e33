"""The chain db → migrator → backend holds on a bad day: a failing revision stops it, a slow
first start does not let the migrator in early, and awkward passwords work throughout."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from tests.alembic_support import HEAD, NEXT, write_revision
from tests.e2e.compose_project import ComposeProject

SLOW_INIT_SECONDS = 8
SLOW_INIT = f"""#!/bin/sh
# Keeps the image's socket-only init phase busy, as a big seed or extension would.
sleep {SLOW_INIT_SECONDS}
"""
SPECIAL_PASSWORD = "p@ss%w$rd:/?#x"


def started_at(state: dict[str, Any]) -> datetime:
    # Docker reports nanoseconds; Python parses at most microseconds.
    seconds, _, fraction = state["StartedAt"].rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{seconds}.{fraction[:6] or '0'}")


def test_failing_revision_stops_the_chain(project: ComposeProject) -> None:
    versions = project.directory / "backend" / "migrations" / "versions"
    write_revision(
        versions,
        f"{NEXT}_fails.py",
        revision=NEXT,
        down_revision=HEAD,
        upgrade="""
            op.execute("CREATE TABLE half_done (id int)")
            op.execute("ALTER TABLE no_such_table ADD COLUMN x int")
        """,
    )

    _, up = project.timed_up(check=False)

    assert up.returncode != 0
    assert project.state("migrator")["ExitCode"] != 0
    # Compose may create the backend container, but must never start it.
    assert all(c.attrs["State"]["Status"] == "created" for c in project.containers("backend"))
    log = project.logs("migrator")
    assert f"migration {NEXT} failed" in log
    assert 'relation "no_such_table" does not exist' in log
    assert f"stays at revision {HEAD}" in log
    assert project.sql("SELECT version_num FROM alembic_version") == HEAD
    assert project.sql("SELECT to_regclass('half_done') IS NULL") == "t"


def test_slow_first_start_does_not_let_the_migrator_in_early(project: ComposeProject) -> None:
    slow = project.directory / "db" / "init" / "00-slow.sh"
    slow.write_text(SLOW_INIT)
    slow.chmod(0o755)

    project.timed_up()

    migrator = project.state("migrator")
    assert migrator["ExitCode"] == 0
    waited = started_at(migrator) - started_at(project.state("db"))
    assert waited.total_seconds() >= SLOW_INIT_SECONDS
    assert project.health().status_code == 200


def test_password_with_url_special_characters_works_everywhere(project: ComposeProject) -> None:
    # Single quotes keep Compose from expanding `$rd` and cutting the value at `#`.
    Path(project.directory / ".env").write_text(f"POSTGRES_PASSWORD='{SPECIAL_PASSWORD}'\n")

    project.timed_up()

    assert project.health().status_code == 200
    assert f"{HEAD} (head)" in project.make("current").stdout
    env = project.compose("exec", "-T", "backend", "printenv", "POSTGRES_PASSWORD").stdout
    assert env.strip() == SPECIAL_PASSWORD
