"""Running the real `alembic` command line the way the migrator does, on a copy of the
migrations that a test may break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import URL

from chat_backend.config import Settings
from tests.alembic_support import ALEMBIC_INI, BACKEND_DIR

# Settings a developer's shell may hold; the commands under test get only what a test gives.
# ALEMBIC_CONFIG is alembic's own (and the API's): set, as in the dev container, it would send
# every command to that alembic.ini instead of the test's copy.
SETTINGS = (*(name.upper() for name in Settings.model_fields), "ALEMBIC_CONFIG")
COMMAND_TIMEOUT_S = 120


def migrations_copy(destination: Path) -> Path:
    """alembic.ini and migrations/ in `destination`; its script_location (`%(here)s/...`)
    then points at the copy. No .env is there, nor in the directory above it."""
    destination.mkdir(parents=True)
    shutil.copy(ALEMBIC_INI, destination / "alembic.ini")
    shutil.copytree(
        BACKEND_DIR / "migrations",
        destination / "migrations",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return destination


def command_env(url: URL | None = None, /, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS}
    # A revision file written twice within a second must not be served from stale bytecode.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if url is not None:
        env["DATABASE_URL"] = url.render_as_string(hide_password=False)
    return env | settings


def alembic_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "alembic", *args]


def run_alembic(
    directory: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        alembic_command(*args),
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def assert_one_clean_error(output: str, *secrets: str) -> str:
    """The command's failure is exactly one `error:` line, with no traceback and no secret."""
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    assert "Traceback" not in output
    for secret in secrets:
        assert secret not in output
    return errors[0].removeprefix("error: ")
