"""`make doctor` on machines set up to have each first-run problem, with the real engine:
a port another program holds, a .env behind .env.example, and a database volume left by
another PostgreSQL major version."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.compose_project import ComposeProject

# What the stack's db service runs; CI points it at a local stand-in.
POSTGRES_IMAGE = os.environ.get("POSTGRES_IMAGE", "postgres:17")
WRITE_OLD_VERSION = "echo 16 > /data/PG_VERSION"


def doctor(project: ComposeProject) -> subprocess.CompletedProcess[str]:
    return project.make("doctor", check=False)


def test_a_clean_machine_is_ready(project: ComposeProject) -> None:
    checked = doctor(project)
    assert checked.returncode == 0, checked.stdout
    assert "FAIL" not in checked.stdout
    assert checked.stdout.rstrip().endswith("starts the stack.")


def test_a_taken_port_is_a_blocker_with_a_free_one_suggested(project: ComposeProject) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", project.postgres_port))
        other_program.listen()
        checked = doctor(project)
    assert checked.returncode != 0
    assert (
        f"FAIL  POSTGRES_PORT {project.postgres_port} is taken by another program: "
        "set POSTGRES_PORT=" in checked.stdout
    )
    assert "1 blocker(s)" in checked.stdout


def test_a_missing_env_key_is_named(project: ComposeProject) -> None:
    example = (project.directory / ".env.example").read_text().splitlines(keepends=True)
    kept = [line for line in example if not line.startswith("BACKEND_PORT=")]
    (project.directory / ".env").write_text("".join(kept) + "POSTGRES_PASWORD=typo\n")
    checked = doctor(project)
    assert checked.returncode == 0, checked.stdout
    assert "warn  .env lacks BACKEND_PORT (the defaults apply)" in checked.stdout
    assert "(did you mean POSTGRES_PASSWORD?)" in checked.stdout


@pytest.fixture
def old_volume(project: ComposeProject) -> Iterator[str]:
    """The project's data volume as PostgreSQL 16 would have left it (its PG_VERSION file)."""
    name = f"{project.name}_db-data-pg17"
    labels = {
        "com.docker.compose.project": project.name,
        "com.docker.compose.volume": "db-data-pg17",
    }
    project.run(
        "docker", "volume", "create", *(f"--label={k}={v}" for k, v in labels.items()), name
    )
    try:
        # A throwaway container of the db image writes what an old cluster leaves behind.
        mount = ("--volume", f"{name}:/data", "--user", "0", "--entrypoint", "sh")
        project.run("docker", "run", "--rm", *mount, POSTGRES_IMAGE, "-c", WRITE_OLD_VERSION)
        yield name
    finally:
        project.run("docker", "volume", "rm", "--force", name, check=False)


def test_a_volume_of_another_major_version_is_a_blocker(
    project: ComposeProject, old_volume: str
) -> None:
    checked = doctor(project)
    assert checked.returncode != 0
    assert (
        f"FAIL  the volume {old_volume} holds PostgreSQL 16 data, which the db image "
        f"{POSTGRES_IMAGE} (PostgreSQL 17) cannot open" in checked.stdout
    )
