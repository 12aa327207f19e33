"""`make rehearse` on the real stack: a backup of the development database, three pending
revisions, the db container's own pg_restore; the development database untouched, the clone
gone, the template reused; a corrupt dump refused with one line."""

from __future__ import annotations

import json
import re

from tests.alembic_support import HEAD, LAST, LATER, NEXT, write_revision
from tests.e2e.compose_project import ComposeProject
from tests.rehearsal_support import PENDING

USERS = 2_000
DATABASES = (
    "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'chat%'"
)


def test_make_rehearse_runs_the_pending_revisions_on_a_backup(project: ComposeProject) -> None:
    project.make("migrate")
    project.sql(
        "INSERT INTO users (username, email) SELECT 'u' || g, 'u' || g || '@mail.example.com' "
        "FROM generate_series(1, 2000) g"
    )
    backup = project.make("backup").stderr.split("wrote ")[1].split(";")[0]
    for file_name, revision, down, upgrade, downgrade in PENDING:
        write_revision(
            project.directory / "backend" / "migrations" / "versions",
            file_name,
            revision=revision,
            down_revision=down,
            upgrade=upgrade,
            downgrade=downgrade,
        )

    first = project.make("rehearse", f"file={backup}", "max_rows=1000", check=False)

    # make exits 2 whenever a recipe fails, and names the recipe's own status.
    assert "rehearse] Error 1" in first.stderr, first.stderr
    assert "rehearse: loaded" in first.stderr
    table = first.stdout.splitlines()
    assert table[0].startswith("revision  seconds  rewritten")
    (bigint,) = [line for line in table if line.startswith(f"{LATER} ")]
    assert "public.users  public.users AccessExclusive" in bigint
    (backfill,) = [line for line in table if line.startswith(f"{LAST} ")]
    assert "public.users 0/666/0" in backfill
    assert "! rewrites public.users (2,000 rows" in first.stdout

    second = project.make("rehearse", f"file={backup}", "format=json", check=False)

    assert "rehearse: reusing chat_rehearsal_" in second.stderr
    assert [record["revision"] for record in json.loads(second.stdout)] == [NEXT, LATER, LAST]
    assert second.returncode == 0, second.stderr  # under the default 100,000 rows
    # The development database is as it was, and only the cached template is left.
    assert project.sql("SELECT version_num FROM alembic_version") == HEAD
    assert project.sql("SELECT count(*) FROM users") == str(USERS)
    databases = project.sql(DATABASES).split(",")
    assert databases[0] == "chat"
    assert [name.startswith("chat_rehearsal_") for name in databases[1:]] == [True]

    (project.directory / "backups" / "corrupt.dump").write_bytes(b"PGDMP not really")
    corrupt = project.make("rehearse", "file=backups/corrupt.dump", check=False)

    assert "rehearse] Error 2" in corrupt.stderr
    # make's own line: `make:`, or `make[1]:` when the tests run under `make test`.
    ours = [line for line in corrupt.stderr.splitlines() if not re.match(r"make(\[\d+\])?:", line)]
    assert len(ours) == 1, corrupt.stderr
    assert ours[0].startswith("error: rehearse: file='backups/corrupt.dump' cannot be restored")
    assert project.sql(DATABASES).split(",") == databases
    assert "rehearse-" not in project.compose("exec", "-T", "db", "ls", "/tmp").stdout
