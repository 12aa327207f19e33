"""The host's view on the real stack: `APP_ENV=production make reset` on a stack that has no
template yet (the path that recreates the volume) refuses and keeps every row; backups are
readable by their owner only."""

from __future__ import annotations

import os
import stat

from tests.e2e.compose_project import ComposeProject

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
