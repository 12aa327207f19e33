"""`docker compose up` on a bad machine state fails fast and says why: a host port already
taken, a malformed .env line, a volume written by another PostgreSQL major version.

Each case gets its own project (never started far: the point is that it stops early).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_backend.revisions.throwaway_postgres import UNPRIVILEGED_USER, server_bin_dir
from tests.e2e.compose_project import ComposeProject

SECRET = "Fail-s3cret-2b7a"


def up(project: ComposeProject) -> subprocess.CompletedProcess[str]:
    """`docker compose up --wait`, which must end on its own, and fail."""
    completed = project.compose("up", "--wait", check=False)
    assert completed.returncode != 0, completed.stdout
    return completed


def test_host_port_in_use_names_the_port(project: ComposeProject) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", project.postgres_port))
        squatter.listen()
        failed = up(project)
    assert f"127.0.0.1:{project.postgres_port}" in failed.stderr
    assert any(
        reason in failed.stderr for reason in ("address already in use", "already allocated")
    )
    assert all(c.attrs["State"]["Status"] == "created" for c in project.containers("backend"))


def test_malformed_env_line_names_the_file_and_line(project: ComposeProject) -> None:
    env_file = project.directory / ".env"
    env_file.write_text(f"APP_ENV=development\nPOSTGRES_PASSWORD {SECRET}\n")
    failed = up(project)
    assert failed.stderr.strip() == f"failed to read {env_file}: line 2: key cannot contain a space"
    assert project.containers("db") == []


@pytest.fixture
def old_cluster() -> Iterator[tuple[Path, str]]:
    """A real data directory made by the local PostgreSQL binaries (another major version than
    the db image's 17), and that major version. Outside pytest's private temporary directory,
    which the unprivileged user that runs initdb (as root we must) cannot enter."""
    bin_dir = server_bin_dir()
    assert bin_dir is not None, "the end-to-end tests need the PostgreSQL binaries too"
    major = bin_dir.parts[-2]
    assert major != "17", "the local PostgreSQL must be another major version than the image's"
    root = Path(tempfile.mkdtemp(prefix="chat-e2e-old-pg-"))
    user = UNPRIVILEGED_USER if os.geteuid() == 0 else None
    if user is not None:
        shutil.chown(root, user)
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "chat"]
        subprocess.run(initdb, user=user, capture_output=True, check=True)
        yield root / "data", major
    finally:
        shutil.rmtree(root)


def test_volume_from_another_major_version_fails_fast_with_a_hint(
    project: ComposeProject, old_cluster: tuple[Path, str]
) -> None:
    data, major = old_cluster
    old_data = f"{data}:/old:ro"
    copy = ["run", "--rm", "--no-deps", "--volume", old_data, "db", "sh", "-c"]
    project.compose(*copy, 'cp -a /old/. "$PGDATA"/')

    failed = up(project)

    assert "dependency failed to start" in failed.stderr
    log = project.logs("db")
    assert "database files are incompatible with server" in log
    assert f"initialized by PostgreSQL version {major}, which is not compatible" in log
    assert [c.attrs["State"]["Status"] for c in project.containers("migrator")] == ["created"]
    # `make doctor` names the volume's version and the fix (backup and restore, or delete).
    doctor = project.run(sys.executable, "-m", "chat_backend.doctor", check=False)
    assert doctor.returncode == 1
    assert f"holds PostgreSQL {major} data, which the db image" in doctor.stdout + doctor.stderr
