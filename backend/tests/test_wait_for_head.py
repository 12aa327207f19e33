"""`python -m chat_backend.db.wait_for_head`, the backend's init container on Kubernetes, run
as a process against a real PostgreSQL: it waits while the schema is behind, exits 0 at head,
and gives up with one line after its timeout."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, Engine, text

from chat_backend.revisions.throwaway_postgres import free_port
from tests.alembic_support import ALEMBIC_INI, HEAD, migration_config

COMMAND = [sys.executable, "-m", "chat_backend.db.wait_for_head"]
# Generous bounds for a slow machine; a passing run takes about a second.
RUN_TIMEOUT_S = 60.0


def environment(url: URL) -> dict[str, str]:
    """The command's environment: `url`, and none of a developer's database settings."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "ALEMBIC_CONFIG", "APP_ENV"}
        and not name.startswith("POSTGRES_")
    }
    return {
        **inherited,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "ALEMBIC_CONFIG": str(ALEMBIC_INI),
        "APP_ENV": "test",
    }


def wait(url: URL, timeout: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # cwd: a directory without a .env, so only `environment` counts.
    return subprocess.run(
        [*COMMAND, "--timeout", timeout],
        cwd=cwd,
        env=environment(url),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def migrate(url: URL, direction: str, revision: str) -> None:
    config = migration_config(url)
    (command.upgrade if direction == "up" else command.downgrade)(config, revision)
    config.attributes["connection"].dispose()


@pytest.fixture
def waiter(database_url: URL, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """The command waiting (up to a minute) on a database one revision behind head."""
    migrate(database_url, "down", "-1")
    process = subprocess.Popen(
        [*COMMAND, "--timeout", str(RUN_TIMEOUT_S)],
        cwd=tmp_path,
        env=environment(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


def next_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], RUN_TIMEOUT_S)
    assert ready, f"no output within {RUN_TIMEOUT_S} s"
    return process.stdout.readline()


def test_exits_0_at_head(database_url: URL, tmp_path: Path) -> None:
    result = wait(database_url, "30", tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"The database is at head {HEAD!r}.\n"


def test_waits_while_behind_then_exits_0_once_migrated(
    waiter: subprocess.Popen[str], database_url: URL
) -> None:
    waiting = next_line(waiter)
    assert f"and this image needs {HEAD!r}" in waiting
    assert waiter.poll() is None

    migrate(database_url, "up", "head")

    assert waiter.wait(timeout=RUN_TIMEOUT_S) == 0
    assert next_line(waiter) == f"The database is at head {HEAD!r}.\n"


def test_gives_up_with_one_line_after_its_timeout(empty_database_url: URL, tmp_path: Path) -> None:
    result = wait(empty_database_url, "0.5", tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: gave up after 0.5 s: the database at ")
    assert f"is at revision base (empty), and this image needs {HEAD!r}" in result.stderr
    assert "run this image's migrator (`alembic upgrade head`" in result.stderr


def test_an_unreachable_database_gives_up_naming_where_it_is(
    server_url: URL, tmp_path: Path
) -> None:
    port = free_port()
    result = wait(server_url.set(host="127.0.0.1", port=port), "0", tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"the database at 127.0.0.1:{port}/" in result.stderr
    assert "does not answer" in result.stderr
    assert "POSTGRES_HOST and POSTGRES_PORT (or DATABASE_URL)" in result.stderr


def test_a_revision_this_image_does_not_know_is_named(
    database_url: URL, engine: Engine, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '999'"))
    result = wait(database_url, "0", tmp_path)
    assert result.returncode == 1
    assert "at revision '999', which this image does not know" in result.stderr
    assert "deploy the image whose migrations have that revision" in result.stderr


def test_a_negative_timeout_is_refused(database_url: URL, tmp_path: Path) -> None:
    result = wait(database_url, "-1", tmp_path)
    assert result.returncode == 2
    assert "argument --timeout: '-1' is not a number of seconds >= 0" in result.stderr
