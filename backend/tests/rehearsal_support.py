"""Helpers for the rehearsal tests: a pg_dump of a database at head with many users, made by
a pg_dump of the test server's version, and a copy of the migrations with pending revisions on
top."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target
from chat_backend.revisions.checks.schema_dump import pg_dump_for
from tests.alembic_support import BACKEND_DIR, HEAD, LAST, LATER, NEXT, write_revision
from tests.local_db_support import query
from tests.reliability_support import command_env, migrations_copy

SCRUB_SQL = BACKEND_DIR.parent / "db" / "rehearse" / "scrub.sql"
USERS = 300_000
COMMAND_TIMEOUT_S = 300

# The three kinds of revision the issue names, on top of the real head.
PENDING = (
    (
        f"{NEXT}_add_login_count.py",
        NEXT,
        HEAD,
        'op.add_column("users", sa.Column("login_count", sa.Integer(), nullable=False, '
        'server_default="0"))',
        'op.drop_column("users", "login_count")',
    ),
    (
        f"{LATER}_login_count_bigint.py",
        LATER,
        NEXT,
        'op.alter_column("users", "login_count", type_=sa.BigInteger(), '
        "existing_type=sa.Integer())",
        'op.alter_column("users", "login_count", type_=sa.Integer(), '
        "existing_type=sa.BigInteger())",
    ),
    (
        f"{LAST}_backfill_login_count.py",
        LAST,
        LATER,
        'op.execute("UPDATE users SET login_count = 1 WHERE id % 3 = 0")',
        'op.execute("UPDATE users SET login_count = 0")',
    ),
)


def make_dump(
    server: Target, template: str, path: Path, users: int, dump_format: str = "c"
) -> Path:
    """A dump (pg_dump's custom format, or `d`: a directory) of a database at head holding
    `users` users (with emails)."""
    source = f"chat_dump_source_{os.getpid()}_{path.stem}"
    with Cluster.session(server) as cluster:
        cluster.clone(template, source)
    try:
        query(
            server,
            "INSERT INTO users (username, display_name, email) SELECT 'name-' || g, "
            "'Person ' || g, 'person' || g || '@mail.example.com' FROM generate_series(1, :n) g",
            source,
            n=users,
        )
        pg_dump(server, source, path, dump_format)
    finally:
        with Cluster.session(server) as cluster:
            cluster.drop(source)
    return path


def pg_dump(server: Target, database: str, path: Path, dump_format: str = "c") -> None:
    """The dump by a pg_dump of the server's major version, wherever it is installed: beside
    the throwaway server's binaries on a host, the PostgreSQL client in the dev container."""
    subprocess.run(
        [
            str(pg_dump_for(server.url(database))),
            f"-F{dump_format}",
            "-h",
            str(server.host),
            "-p",
            str(server.port),
            "-U",
            server.user,
            "-f",
            str(path),
            database,
        ],
        env={**os.environ, "PGPASSWORD": server.password},
        check=True,
        capture_output=True,
        timeout=COMMAND_TIMEOUT_S,
    )


def migrations_with(directory: Path, revisions: tuple[tuple[str, ...], ...] = PENDING) -> Path:
    """alembic.ini of a migrations copy with `revisions` added on top of the real head."""
    copy = migrations_copy(directory)
    for file_name, revision, down, upgrade, downgrade in revisions:
        write_revision(
            copy / "migrations" / "versions",
            file_name,
            revision=revision,
            down_revision=down,
            upgrade=upgrade,
            downgrade=downgrade,
        )
    return copy / "alembic.ini"


@dataclass(frozen=True)
class Rehearsal:
    status: int
    stdout: str
    stderr: str

    def json(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = json.loads(self.stdout)
        return records


def rehearse(
    local: Target, alembic_ini: Path, dump: Path, *args: str, **settings: str
) -> Rehearsal:
    """`python -m chat_backend.revisions.rehearsal` as `make rehearse` runs it, for `local`
    as the development database (its APP_ENV), from the migrations copy's folder."""
    completed = subprocess.run(
        rehearse_command(dump, alembic_ini, *args),
        cwd=alembic_ini.parent,
        env=rehearse_env(local, **settings),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return Rehearsal(completed.returncode, completed.stdout, completed.stderr)


def rehearse_env(local: Target, **settings: str) -> dict[str, str]:
    url = local.url(local.database)
    return command_env(url, **{"APP_ENV": local.app_env, **settings})


def rehearse_on_a_terminal(local: Target, alembic_ini: Path, dump: Path) -> str:
    """What the command writes to its stderr when that is a terminal (a pseudo-terminal)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            rehearse_command(dump, alembic_ini),
            cwd=alembic_ini.parent,
            env=rehearse_env(local),
            stdout=subprocess.DEVNULL,
            stderr=terminal,
        )
        os.close(terminal)
        written = b""
        while chunk := _read(controller):
            written += chunk
        process.wait(timeout=COMMAND_TIMEOUT_S)
        return written.decode()
    finally:
        os.close(controller)


def _read(controller: int) -> bytes:
    try:
        return os.read(controller, 4096)
    except OSError:  # Linux: EIO once the command has closed the terminal
        return b""


def rehearse_command(dump: Path, alembic_ini: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "chat_backend.revisions.rehearsal",
        "--file",
        str(dump),
        "--config",
        str(alembic_ini),
        "--scrub",
        str(SCRUB_SQL),
        *args,
    ]
