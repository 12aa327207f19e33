"""The stack a new team member gets from `docker compose up`, and the make targets around it.

The tests share one project and run in order: each starts from where the previous one left
the stack, as a developer's day would (the last ones seed the database the reset emptied).
"""

from __future__ import annotations

import httpx

from tests.alembic_support import HEAD
from tests.e2e.compose_project import ComposeProject

TABLES = (
    "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
    "WHERE schemaname = 'public'"
)
DEMO = "SELECT count(*) FROM users WHERE username = 'demo'"
CHATS = "SELECT count(*) FROM ai_chats"


def test_fresh_up_gives_a_migrated_schema_and_a_healthy_backend(stack: ComposeProject) -> None:
    assert stack.sql("SELECT version_num FROM alembic_version") == HEAD
    assert stack.sql(TABLES) == (
        "ai_chats,alembic_version,alembic_version_checksums,database_environment,users"
    )
    assert stack.state("migrator")["ExitCode"] == 0
    response = stack.health()
    assert response.status_code == 200
    assert response.json()["revision"] == HEAD


def test_second_up_is_an_idempotent_no_op(stack: ComposeProject) -> None:
    seconds, _ = stack.timed_up()
    print(f"\n[measure] no-op `docker compose up --wait` on a migrated volume: {seconds:.1f} s")
    assert stack.state("migrator")["ExitCode"] == 0
    assert "Running upgrade" not in stack.logs("migrator").split("Will assume")[-1]
    assert stack.sql("SELECT count(*) FROM alembic_version") == "1"


def test_rollback_then_migrate_round_trip(stack: ComposeProject) -> None:
    stack.make("rollback")
    assert stack.sql("SELECT version_num FROM alembic_version") == "002"
    assert "002" in stack.make("current").stdout
    stack.make("rollback", "STEPS=2")
    assert stack.sql("SELECT count(*) FROM alembic_version") == "0"
    stack.make("migrate")
    assert f"{HEAD} (head)" in stack.make("current").stdout
    history = stack.make("history").stdout
    assert all(f"Rev: {rev}" in history for rev in ("001", "002", HEAD))


def test_data_survives_down_and_up(stack: ComposeProject) -> None:
    stack.sql("INSERT INTO users (username) VALUES ('survivor')")
    stack.compose("down")
    stack.timed_up()
    assert stack.sql("SELECT username FROM users") == "survivor"


def test_reset_leaves_an_empty_migrated_database(stack: ComposeProject) -> None:
    stack.make("reset", "FORCE=1")
    assert stack.sql("SELECT count(*) FROM users") == "0"
    assert stack.sql("SELECT version_num FROM alembic_version") == HEAD
    assert stack.health().status_code == 200


def test_bad_make_arguments_fail_early_with_the_fix(stack: ComposeProject) -> None:
    rollback = stack.make("rollback", "STEPS=abc", check=False)
    assert rollback.returncode != 0
    assert "make rollback STEPS=2" in rollback.stderr
    stamp = stack.make("stamp", check=False)
    assert stamp.returncode != 0
    assert "rev is required: make stamp rev=002" in stamp.stderr


def test_seed_twice_leaves_one_demo_user_with_one_chat(stack: ComposeProject) -> None:
    first = stack.make("seed").stdout
    second = stack.make("seed").stdout
    assert "seed: created user 'demo'" in first
    assert "and its chat 'Welcome' were already there" in second
    assert (stack.sql(DEMO), stack.sql(CHATS)) == ("1", "1")


def test_the_api_serves_the_sample_data(stack: ComposeProject) -> None:
    base = f"http://127.0.0.1:{stack.backend_port}"
    users = httpx.get(f"{base}/users", timeout=5).json()["items"]
    demo = next(user for user in users if user["username"] == "demo")
    chats = httpx.get(f"{base}/users/{demo['id']}/chats", timeout=5).json()["items"]
    assert [chat["title"] for chat in chats] == ["Welcome"]


def test_current_runs_in_the_backend_and_in_a_one_off_container_when_it_is_down(
    stack: ComposeProject,
) -> None:
    running = stack.make("current")
    assert f"{HEAD} (head)" in running.stdout
    assert "one-off" not in running.stderr
    stack.compose("stop", "backend")
    stopped = stack.make("current")
    assert f"{HEAD} (head)" in stopped.stdout
    assert "the backend is not running; using a one-off migrator container" in stopped.stderr
