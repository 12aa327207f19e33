"""The local-database guard against a server that really is elsewhere: the Compose db
container at its own address on the Docker network (another host, as far as this machine's
network stack is concerned), reached the way the issue's attacker did: a DATABASE_URL without
a host, and PGHOST naming that server. Nothing may be reset there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import URL

from tests.alembic_support import ALEMBIC_INI, write_revision
from tests.e2e.compose_project import ComposeProject
from tests.reliability_support import SETTINGS, command_env, migrations_copy, run_alembic

ROWS = "CREATE TABLE precious (n int); INSERT INTO precious VALUES (1), (2), (3)"


@pytest.fixture
def remote(project: ComposeProject) -> tuple[ComposeProject, str]:
    """The db service up, and its address on the project's Docker network."""
    project.compose("up", "--detach", "--wait", "db")
    (container,) = project.containers("db")
    networks = container.attrs["NetworkSettings"]["Networks"]
    address = next(iter(networks.values()))["IPAddress"]
    project.sql(ROWS)
    return project, str(address)


@pytest.mark.parametrize(
    "libpq_env",
    ["pghost-behind-a-hostless-url", "host-list-socket-then-remote"],
)
def test_a_server_elsewhere_named_only_to_libpq_is_never_reset(
    remote: tuple[ComposeProject, str], libpq_env: str, tmp_path: Path
) -> None:
    project, address = remote
    url = "postgresql://chat:chat-dev-password@:5432/chat?connect_timeout=5"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS and not name.startswith("PG")
    }
    env |= {"APP_ENV": "development", "ALEMBIC_CONFIG": str(ALEMBIC_INI)}
    if libpq_env == "pghost-behind-a-hostless-url":
        env |= {"DATABASE_URL": url, "PGHOST": address}
    else:
        env |= {"DATABASE_URL": f"{url}&host=/nonexistent-socket-dir,{address}"}

    reset = subprocess.run(
        [sys.executable, "-m", "chat_backend.local_db", "reset"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert reset.returncode == 1, reset.stdout + reset.stderr
    assert f"host {address!r}, which is not local" in reset.stderr
    assert project.sql("SELECT count(*) FROM precious") == "3"


# Every destructive path, as a user runs it on the host, and how it is started.
PATHS = {
    "reset": ["-m", "chat_backend.local_db", "reset"],
    "snapshot": ["-m", "chat_backend.local_db", "snapshot", "before"],
    "restore": ["-m", "chat_backend.local_db", "restore", "before"],
    "drop-snapshot": ["-m", "chat_backend.local_db", "drop-snapshot", "before"],
    "template": ["-m", "chat_backend.local_db", "template"],
    "rollback": ["-m", "chat_backend.revisions.rollback_guard", "--steps", "1"],
    "phantom-rollback": ["-m", "alembic", "upgrade", "head"],
}


@pytest.fixture
def phantom_remote(
    remote: tuple[ComposeProject, str], tmp_path: Path
) -> tuple[ComposeProject, str, Path]:
    """The remote server's database at a phantom revision: 004 applied (through the port
    Compose publishes on loopback), then its file gone from the checkout."""
    project, address = remote
    copy = migrations_copy(tmp_path / "checkout")
    path = write_revision(
        copy / "migrations" / "versions",
        "004_notes.py",
        revision="004",
        down_revision="003",
        upgrade="op.execute('CREATE TABLE notes (body text)')",
        downgrade="op.drop_table('notes')",
    )
    local = URL.create(
        "postgresql+psycopg2",
        username="chat",
        password="chat-dev-password",
        host="127.0.0.1",
        port=project.postgres_port,
        database="chat",
    )
    applied = run_alembic(copy, command_env(local), "upgrade", "head")
    assert applied.returncode == 0, applied.stderr
    project.sql("INSERT INTO notes VALUES ('keep')")
    path.unlink()
    return project, address, copy


@pytest.mark.parametrize("path", list(PATHS))
def test_every_destructive_path_refuses_a_remote_address_behind_a_local_name(
    phantom_remote: tuple[ComposeProject, str, Path], path: str
) -> None:
    """POSTGRES_HOST=localhost, while PGHOSTADDR sends libpq to another machine: the phantom
    rollback used to judge the name and roll back there. Each path judges the address."""
    project, address, copy = phantom_remote
    env = command_env(
        None,
        APP_ENV="development",
        POSTGRES_HOST="localhost",
        POSTGRES_PORT="5432",
        POSTGRES_USER="chat",
        POSTGRES_PASSWORD="chat-dev-password",
        POSTGRES_DB="chat",
        ALEMBIC_CONFIG=str(copy / "alembic.ini"),
        PGHOSTADDR=address,
    )
    env = {name: value for name, value in env.items() if name not in ("PGHOST", "PGSERVICE")}

    refused = subprocess.run(
        [sys.executable, *PATHS[path]],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"host {address!r}, which is not local" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert project.sql("SELECT version_num FROM alembic_version") == "004"
    assert project.sql("SELECT count(*) FROM notes") == "1"
    assert project.sql("SELECT count(*) FROM precious") == "3"
