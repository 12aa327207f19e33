"""The host's view on the real stack: `APP_ENV=production make reset` on a stack that has no
template yet (the path that recreates the volume) refuses and keeps every row; backups are
readable by their owner only, and two taken in the same second are two files."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

from tests.e2e.compose_project import ComposeProject
from tests.waiting import wait_until

ROWS = "INSERT INTO users (username) VALUES ('ada'), ('alan')"


def test_production_in_the_shell_refuses_the_first_reset_and_keeps_every_row(
    stack: ComposeProject,
) -> None:
    stack.sql(ROWS)

    refused = stack.run("env", "APP_ENV=production", "make", "reset", "FORCE=1", check=False)

    assert refused.returncode != 0
    assert "reset: refusing to replace or delete the database: APP_ENV is 'production'" in (
        refused.stderr
    ), refused.stderr
    assert stack.sql("SELECT count(*) FROM users") == "2"
    assert stack.health().status_code == 200


def test_backups_are_readable_by_their_owner_only(stack: ComposeProject) -> None:
    backup = stack.make("backup").stderr.split("wrote ")[1].split(";")[0]

    directory = stack.directory / "backups"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(stack.directory / backup).st_mode) == 0o600


def test_two_backups_in_the_same_second_are_two_whole_files(stack: ComposeProject) -> None:
    # Early in a second, so that all three take their file name's time stamp within it.
    wait_until(lambda: time.time() % 1 < 0.3, "the start of a second", interval_s=0.01)
    backups = [
        subprocess.Popen(
            ["scripts/backup.sh"],
            cwd=stack.directory,
            env=stack.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(*backup.communicate(timeout=120), backup.returncode) for backup in backups]

    assert [code for _, _, code in results] == [0, 0, 0], results
    files = sorted(out.strip() for out, _, _ in results)
    assert len(set(files)) == 3, files
    assert len({Path(file).name[:16] for file in files}) == 1, f"not in one second: {files}"
    for file in files:
        listed = subprocess.run(
            ["docker", "compose", "exec", "-T", "db", "pg_restore", "--list"],
            cwd=stack.directory,
            env=stack.env,
            input=(stack.directory / file).read_bytes(),
            capture_output=True,
            check=False,
        )
        assert b"TABLE public users" in listed.stdout, (file, listed)
    assert sorted(path.name for path in (stack.directory / "backups").glob("*.partial*")) == []
