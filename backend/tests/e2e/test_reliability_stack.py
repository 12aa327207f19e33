"""Reliability on one running stack: concurrent migrators, bad input to the migrator, the
rollback guard with backups, restarts, and what the images and logs must never expose.

The tests share one project with a distinctive password in its .env; none depends on another's
leftovers, except the last, which reads every log the others produced.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.migration_runtime import LOCK_KEY
from tests.alembic_support import HEAD
from tests.e2e.compose_project import (
    COMMAND_TIMEOUT_S,
    ComposeProject,
    docker_client,
    running_copy,
)
from tests.reliability_support import assert_one_clean_error
from tests.waiting import wait_until

SECRET = "Rel-s3cret-9f4e"
MIGRATORS = 8
WAITING = "Another migrator holds the migration lock; waiting for it to finish."
# Row count and a checksum of the rows, in a stable order.
FINGERPRINT = (
    "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
    "FROM {} AS t"
)
ROWS = (
    "INSERT INTO users (username, email) VALUES ('ada', 'ada@example.com'), "
    "('grace', 'grace@example.com'), ('alan', NULL); "
    "INSERT INTO ai_chats (user_id, messages) SELECT id, "
    "jsonb_build_array(jsonb_build_object('role', 'user', 'text', username)) FROM users"
)


def with_secret_env_files(project: ComposeProject) -> None:
    # Secrets in both places a .env could be: neither may reach the image (the build context
    # is backend/), and the password may appear in no log.
    (project.directory / ".env").write_text(f"POSTGRES_PASSWORD='{SECRET}'\n")
    (project.directory / "backend" / ".env").write_text(f"POSTGRES_PASSWORD='{SECRET}'\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    # Built from the copy, whose build context holds the .env files the image must not take.
    directory = tmp_path_factory.mktemp("reliability")
    with running_copy(directory, with_secret_env_files, build=True) as project:
        yield project


def host_url(stack: ComposeProject, database: str) -> URL:
    """The stack's database as the host reaches it (published on 127.0.0.1)."""
    return URL.create(
        "postgresql+psycopg2",
        username="chat",
        password=SECRET,
        host="127.0.0.1",
        port=stack.postgres_port,
        database=database,
    )


def fingerprint(stack: ComposeProject) -> str:
    return " / ".join(stack.sql(FINGERPRINT.format(table)) for table in ("users", "ai_chats"))


def migrator_run(stack: ComposeProject, *env: str) -> subprocess.CompletedProcess[str]:
    """`docker compose run --rm migrator alembic upgrade head`, with -e NAME=value overrides."""
    overrides = [arg for setting in env for arg in ("-e", setting)]
    command = ["run", "--rm", "--no-deps", *overrides, "migrator", "alembic", "upgrade", "head"]
    return stack.compose(*command, check=False)


def healthy(stack: ComposeProject) -> bool:
    try:
        return stack.health().status_code == 200
    except httpx.HTTPError:
        return False


def test_eight_concurrent_compose_migrators_apply_each_revision_once(
    stack: ComposeProject,
) -> None:
    stack.sql("CREATE DATABASE race")
    engine = create_engine(host_url(stack, "race"), poolclass=NullPool)
    command = ["docker", "compose", "run", "--rm", "-e", "POSTGRES_DB=race", "migrator"]
    # Held by the test until all eight wait for it, so they all race for it at once.
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        holder.commit()
        migrators = [
            subprocess.Popen(
                [*command, "alembic", "upgrade", "head"],
                cwd=stack.directory,
                env=stack.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(MIGRATORS)
        ]
        waiters = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        wait_until(
            lambda: holder.scalar(waiters) == MIGRATORS,
            f"{MIGRATORS} migrator containers waiting for the lock",
            timeout_s=COMMAND_TIMEOUT_S,
        )
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        holder.commit()
    outputs = [migrator.communicate(timeout=COMMAND_TIMEOUT_S)[0] for migrator in migrators]
    with engine.connect() as connection:
        versions = connection.scalars(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()

    assert [migrator.returncode for migrator in migrators] == [0] * MIGRATORS, outputs
    assert all(WAITING in output for output in outputs)
    log = "\n".join(outputs)
    for step in ("Running upgrade  -> 001", "Running upgrade 001 -> 002", "-> 003"):
        assert log.count(step) == 1, log
    assert versions == [HEAD]


def test_ports_are_published_on_localhost_only(stack: ComposeProject) -> None:
    config = json.loads(stack.compose("config", "--format", "json").stdout)
    services = config["services"].items()
    published = [(name, port) for name, service in services for port in service.get("ports", [])]
    assert {name for name, _ in published} == {"db", "backend"}
    assert all(port["host_ip"] == "127.0.0.1" for _, port in published), published


def test_backend_and_migrator_run_as_a_non_root_user(stack: ComposeProject) -> None:
    pid_1_uid = "awk '/^Uid:/ {print $2}' /proc/1/status"
    assert stack.compose("exec", "-T", "backend", "sh", "-c", pid_1_uid).stdout.strip() == "10001"
    assert [c.attrs["Config"]["User"] for c in stack.containers("migrator")] == ["app"]
    ran = stack.compose("run", "--rm", "--no-deps", "migrator", "id", "-u")
    assert ran.stdout.strip() == "10001"


def test_image_holds_no_env_file(stack: ComposeProject) -> None:
    (backend,) = stack.containers("backend")
    found = docker_client().containers.run(
        backend.image.id,
        ["find", "/", "-xdev", "-name", ".env*"],
        entrypoint=[],
        user="root",
        remove=True,
    )
    assert found.decode().split() == []


@pytest.mark.parametrize(
    ("overrides", "status", "expected"),
    [
        (
            ("APP_ENV=production", "POSTGRES_PASSWORD=chat-dev-password"),
            2,
            "POSTGRES_PASSWORD: an empty or placeholder password is refused in production",
        ),
        (
            ("APP_ENV=staging",),
            2,
            "APP_ENV: Input should be 'development', 'test' or 'production'; "
            "set it to one of: development, test, production",
        ),
        (
            ("POSTGRES_PASSWORD=wrong-Secret-7c1d",),
            1,
            "POSTGRES_PASSWORD: the database at db:5432 refused the login: password "
            'authentication failed for user "chat"; set it to the password of that role',
        ),
        (
            ("POSTGRES_HOST=nowhere", "MIGRATION_CONNECT_TIMEOUT_S=1"),
            1,
            'cannot reach the database at nowhere:5432 (could not translate host name "nowhere"',
        ),
    ],
    ids=["production-placeholder-password", "unknown-app-env", "wrong-password", "unreachable"],
)
def test_migrator_rejects_bad_settings_in_one_line(
    stack: ComposeProject, overrides: tuple[str, ...], status: int, expected: str
) -> None:
    ran = migrator_run(stack, *overrides)
    assert ran.returncode == status
    message = assert_one_clean_error(ran.stdout + ran.stderr, SECRET, "wrong-Secret-7c1d")
    assert message.startswith(expected)


def test_rollback_keeps_data_and_a_restore_brings_every_row_back(stack: ComposeProject) -> None:
    stack.sql(ROWS)
    before = fingerprint(stack)
    backup = stack.make("backup").stderr.split("wrote ")[1].split(";")[0]

    steps = int(HEAD) - 2  # down to 002: 003's users.email goes
    refused = stack.make("rollback", f"STEPS={steps}", check=False)
    assert refused.returncode != 0
    assert (
        f"error: rollback refused: undoing {steps} revision(s) from {HEAD} to 002 drops data: "
        "column users.email (2 non-null values); nothing was changed. A backup of the database "
        "is in backups/"
    ) in refused.stderr
    assert f"To drop it anyway: make rollback STEPS={steps} FORCE=1" in refused.stderr
    assert stack.sql("SELECT version_num FROM alembic_version") == HEAD

    stack.make("rollback", f"STEPS={steps}", "FORCE=1")
    assert stack.sql("SELECT version_num FROM alembic_version") == "002"
    stack.make("migrate")
    assert stack.sql("SELECT count(email) FROM users") == "0"

    stack.make("restore-backup", f"file={backup}")
    assert fingerprint(stack) == before
    assert stack.sql("SELECT version_num FROM alembic_version") == HEAD
    dumps = [path.read_bytes() for path in (stack.directory / "backups").glob("*.dump")]
    names = " ".join(path.name for path in (stack.directory / "backups").iterdir())
    assert len(dumps) == 4, names  # make backup, two rollbacks, and the restore's own
    assert (names.count("before-rollback"), names.count("before-restore")) == (2, 1), names
    assert all(dump.startswith(b"PGDMP") for dump in dumps)
    wait_until(lambda: healthy(stack), "the backend to be healthy after the restore")


@pytest.mark.parametrize("service", ["db", "migrator", "backend", None], ids=lambda s: s or "all")
def test_data_survives_a_restart(stack: ComposeProject, service: str | None) -> None:
    stack.sql("INSERT INTO users (username) VALUES ('restart-' || md5(random()::text))")
    before = fingerprint(stack)
    stack.compose("restart", *([service] if service else []))
    wait_until(lambda: healthy(stack), f"the backend to be healthy after restarting {service}", 60)
    assert fingerprint(stack) == before
    assert stack.state("migrator")["ExitCode"] == 0


def test_no_log_shows_the_password(stack: ComposeProject) -> None:
    logs = stack.compose("logs", "--no-color").stdout
    assert "Running upgrade" in logs
    assert SECRET not in logs
