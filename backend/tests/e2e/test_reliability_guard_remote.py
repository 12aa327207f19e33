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

from tests.alembic_support import ALEMBIC_INI
from tests.e2e.compose_project import ComposeProject
from tests.reliability_support import SETTINGS

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
