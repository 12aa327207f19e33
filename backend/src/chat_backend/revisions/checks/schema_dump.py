"""db/schema.sql: the schema at head as pg_dump writes it, committed so that a review shows
what a revision does to the whole schema, and stale when a revision changed it.

The dump is normalized to stay the same between runs and PostgreSQL versions: pg_dump's
comments (its version among them), its session SET lines and the random `\\restrict` tokens of
newer pg_dump are dropped; owners, privileges and Alembic's bookkeeping tables are left out.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.environment_marker import TABLE as MARKER_TABLE
from chat_backend.db.revision_checksums import TABLE as CHECKSUM_TABLE
from chat_backend.revisions.checks.failure import Failure, revision_label
from chat_backend.revisions.throwaway_postgres import server_bin_dir

HEADER = (
    "-- The schema at revision {head}, written by `make schema` (pg_dump --schema-only of a\n"
    "-- database migrated to head, normalized). Do not edit: make check fails when it is stale.\n"
)
NOISE = re.compile(r"--|SET |SELECT pg_catalog\.set_config\(|\\(un)?restrict ")
PG_DUMP_OPTIONS = (
    "--schema-only",
    "--no-owner",
    "--no-privileges",
    "--no-tablespaces",
    "--exclude-table=alembic_version",
    f"--exclude-table={CHECKSUM_TABLE}",
    f"--exclude-table={MARKER_TABLE}",
)
MAX_DIFF_LINES = 40


def normalize(dump: str) -> str:
    kept = [line.rstrip() for line in dump.splitlines() if not NOISE.match(line)]
    # Dropped comments leave runs of blank lines; one blank line separates statements.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"


def schema_sql(url: URL, head: str) -> str:
    """What db/schema.sql must hold, from the database at `url` (at revision `head`)."""
    return HEADER.format(head=head) + "\n" + normalize(_pg_dump(url))


def write_schema_file(path: Path, url: URL, head: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_sql(url, head), encoding="utf-8")


def check_schema_file(path: Path, url: URL, head: str, head_path: str) -> list[Failure]:
    expected = schema_sql(url, head)
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed == expected:
        return []
    diff = difflib.unified_diff(
        committed.splitlines(),
        expected.splitlines(),
        f"db/{path.name} (committed)",
        "the schema at head",
        n=1,
        lineterm="",
    )
    lines = list(diff)
    shown = lines[:MAX_DIFF_LINES] + (["…"] if len(lines) > MAX_DIFF_LINES else [])
    return [
        Failure(
            revision_label(head, head_path) + " (head)",
            "schema-file-up-to-date",
            f"db/{path.name} " + ("differs from the schema at head" if committed else "is missing"),
            f"run make schema and commit db/{path.name}",
            details="\n".join(shown),
        )
    ]


def pg_dump_for(url: URL) -> Path:
    """A pg_dump of the server's major version: an older one refuses a newer server, and a
    newer one writes a dump that differs from the committed one."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        major = int(connection.scalar(text("SHOW server_version_num"))) // 10_000
    bin_dir = server_bin_dir()
    candidates = [
        bin_dir / "pg_dump" if bin_dir else None,
        Path(f"/usr/lib/postgresql/{major}/bin/pg_dump"),
        shutil.which("pg_dump"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _major_version(Path(candidate)) == major:
            return Path(candidate)
    raise RuntimeError(
        f"no pg_dump for PostgreSQL {major} found; install its client "
        f"(Debian/Ubuntu: apt-get install postgresql-client-{major})"
    )


def _major_version(pg_dump: Path) -> int | None:
    # "pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
    # Here and below: a PostgreSQL binary, arguments we built, no shell.
    completed = subprocess.run(  # noqa: S603
        [str(pg_dump), "--version"], capture_output=True, text=True, check=False
    )
    found = re.search(r"\) (\d+)", completed.stdout)
    return int(found.group(1)) if found else None


def _pg_dump(url: URL) -> str:
    # The password goes through the environment, never the command line.
    environment = {
        **os.environ,
        "PGHOST": url.host or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "",
    }
    completed = subprocess.run(  # noqa: S603
        [str(pg_dump_for(url)), *PG_DUMP_OPTIONS],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {completed.stderr.strip()}")
    return completed.stdout
