"""`make reset` and the snapshot targets on the real stack: the first reset recreates the
volume and builds the template, later ones clone it while the backend keeps running, and
nothing destructive runs against a database that is not a local development one.

The tests share one project and run in order, as a developer's day would.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.alembic_support import HEAD, write_revision
from tests.e2e.compose_project import ComposeProject
from tests.waiting import wait_until

NEXT = f"{int(HEAD) + 1:03d}"
TABLES = ("users", "ai_chats", "alembic_version")
SEED = (
    "INSERT INTO users (username) SELECT 'user' || n FROM generate_series(1, 20) AS n; "
    "INSERT INTO ai_chats (user_id, messages) "
    "SELECT id, jsonb_build_array(jsonb_build_object('n', id)) FROM users"
)
TEMPLATES = (
    "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'chat\\_template\\_%'"
)
# Row count and a checksum of the rows, in a stable order.
FINGERPRINT = (
    "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
    "FROM {} AS t"
)
HEALTHY_WITHIN_S = 30


def fingerprint(stack: ComposeProject) -> dict[str, str]:
    """Row count and checksum of every table."""
    return {table: stack.sql(FINGERPRINT.format(table)) for table in TABLES}


def healthy(stack: ComposeProject) -> bool:
    try:
        return stack.health().status_code == 200
    except httpx.TransportError:
        return False


def wait_until_healthy(stack: ComposeProject) -> None:
    """Poll /health until it answers 200; the backend must recover without a restart."""
    wait_until(lambda: healthy(stack), "/health to answer 200", HEALTHY_WITHIN_S, 0.1)


def test_the_first_reset_recreates_the_volume_and_builds_the_template(
    stack: ComposeProject,
) -> None:
    stack.sql(SEED)
    assert stack.sql(TEMPLATES) == ""

    reset = stack.make("reset", "FORCE=1")

    assert "first reset" in reset.stdout
    assert stack.sql("SELECT count(*) FROM users") == "0"
    assert stack.sql("SELECT version_num FROM alembic_version") == HEAD
    assert stack.sql(TEMPLATES).startswith("chat_template_")
    wait_until_healthy(stack)


def test_the_next_reset_clones_the_template_and_the_backend_recovers(
    stack: ComposeProject,
) -> None:
    stack.sql(SEED)
    template = stack.sql(TEMPLATES)
    backend_started = stack.state("backend")["StartedAt"]

    started = time.monotonic()
    reset = stack.make("reset", "FORCE=1")
    seconds = time.monotonic() - started

    print(f"\n[measure] fast `make reset` (clone of the template): {seconds:.2f} s")
    assert f"a clone of {template}" in reset.stdout
    assert "first reset" not in reset.stdout
    assert stack.sql("SELECT count(*) FROM users") == "0"
    assert stack.sql("SELECT count(*) FROM ai_chats") == "0"
    assert stack.sql("SELECT version_num FROM alembic_version") == HEAD
    assert stack.sql(TEMPLATES) == template
    wait_until_healthy(stack)
    assert stack.state("backend")["StartedAt"] == backend_started


def test_a_snapshot_round_trip_brings_back_exactly_the_data(stack: ComposeProject) -> None:
    stack.sql(SEED)
    saved = fingerprint(stack)
    stack.make("snapshot", "name=before-risky")
    stack.sql("DELETE FROM ai_chats WHERE id IN (SELECT id FROM ai_chats LIMIT 5)")
    stack.sql("UPDATE users SET display_name = 'changed'")
    assert fingerprint(stack) != saved

    stack.make("restore", "name=before-risky", "FORCE=1")

    assert fingerprint(stack) == saved
    assert saved["users"].startswith("20 ")
    listing = stack.make("snapshots").stdout
    assert "before-risky" in listing
    assert "MB" in listing
    assert " UTC" in listing
    wait_until_healthy(stack)


def test_a_dropped_snapshot_is_gone(stack: ComposeProject) -> None:
    stack.make("drop-snapshot", "name=before-risky")

    assert "no snapshots of 'chat' yet" in stack.make("snapshots").stdout


def test_bad_arguments_fail_early_with_the_fix(stack: ComposeProject) -> None:
    missing = stack.make("snapshot", check=False)
    assert missing.returncode != 0
    assert "name is required: make snapshot name=before-risky" in missing.stderr

    bad = stack.make("snapshot", "name=Before Risky", check=False)
    assert bad.returncode != 0
    assert "snapshot name 'Before Risky' is not valid" in bad.stderr

    unconfirmed = stack.run("env", "-u", "CI", "make", "restore", "name=x", check=False)
    assert unconfirmed.returncode != 0
    assert "run: make restore name=x FORCE=1" in unconfirmed.stderr


@pytest.mark.parametrize(
    "setting", ["APP_ENV=production", "POSTGRES_HOST=prod-db.example.com"], ids=str
)
@pytest.mark.parametrize("command", ["reset", "restore before-risky", "drop-snapshot x"])
def test_the_guard_refuses_inside_the_stack(
    stack: ComposeProject, setting: str, command: str
) -> None:
    stack.sql("INSERT INTO users (username) VALUES ('precious')")
    refused = stack.compose(
        "exec", "-T", "-e", setting, "backend",
        "python", "-m", "chat_backend.local_db", *command.split(),
        check=False,
    )  # fmt: skip

    assert refused.returncode == 1
    assert refused.stderr.startswith("error: refusing to replace")
    assert refused.stderr.count("\n") == 1
    assert stack.sql("SELECT count(*) FROM users WHERE username = 'precious'") == "1"
    stack.sql("DELETE FROM users")


def test_a_database_that_does_not_say_it_is_a_development_one_is_never_reset(
    stack: ComposeProject,
) -> None:
    """Loopback proves nothing through `ssh -L 5432:prod:5432`; the database's own marker
    does. A restored production dump says `production`, like the server it came from."""
    assert stack.sql("SELECT environment FROM database_environment") == "development"
    stack.sql("INSERT INTO users (username) VALUES ('precious')")
    stack.sql("UPDATE database_environment SET environment = 'production'")

    refused = stack.make("reset", "FORCE=1", check=False)

    assert refused.returncode != 0
    assert "it says it is a 'production' database" in refused.stderr
    assert "make mark-database env=development" in refused.stderr
    assert stack.sql("SELECT count(*) FROM users WHERE username = 'precious'") == "1"

    marked = stack.make("mark-database", "env=development")
    assert "says it is a 'development' database now" in marked.stdout
    stack.make("reset", "FORCE=1")
    assert stack.sql("SELECT count(*) FROM users") == "0"
    assert stack.sql("SELECT environment FROM database_environment") == "development"
    wait_until_healthy(stack)


def test_a_hard_reset_recreates_the_volume(stack: ComposeProject) -> None:
    stack.sql("CREATE TABLE marker_of_the_old_volume (id int)")
    started = stack.sql("SELECT pg_postmaster_start_time()")

    stack.make("reset", "HARD=1", "FORCE=1")

    assert stack.sql("SELECT to_regclass('marker_of_the_old_volume') IS NULL") == "t"
    assert stack.sql("SELECT pg_postmaster_start_time()") != started
    assert stack.sql(TEMPLATES).startswith("chat_template_")
    wait_until_healthy(stack)


def test_a_new_revision_rebuilds_the_template_once(stack: ComposeProject) -> None:
    old = stack.sql(TEMPLATES)
    versions = stack.directory / "backend" / "migrations" / "versions"
    write_revision(
        versions,
        f"{NEXT}_add_notes.py",
        revision=NEXT,
        down_revision=HEAD,
        upgrade='op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True))',
        downgrade='op.drop_table("notes")',
    )

    rebuilt = stack.make("reset", "FORCE=1")
    again = stack.make("reset", "FORCE=1")

    assert "template was built first" in rebuilt.stdout
    assert "template was built first" not in again.stdout
    new = stack.sql(TEMPLATES)
    assert new != old
    assert "," not in new  # the old template was dropped
    assert stack.sql("SELECT version_num FROM alembic_version") == NEXT
    assert stack.sql("SELECT to_regclass('notes') IS NOT NULL") == "t"
