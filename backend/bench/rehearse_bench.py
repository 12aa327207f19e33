"""Benchmark of `make rehearse`: its first run on a dump (the load into the cached template,
then three pending revisions on a clone) and its second run (the template reused), on a dump
whose users table holds 300,000 rows.

    uv run python bench/rehearse_bench.py [--users 300000]

The command runs as `make rehearse` runs it (python -m chat_backend.revisions.rehearsal) on a
throwaway server from the local PostgreSQL binaries, whose own pg_restore loads the dump. The
first run is set against what it cannot avoid, a bare `pg_restore --jobs` of the same dump;
the second against the first. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool
from table import row, times, verdict

from chat_backend.db.cluster import Cluster, mark
from chat_backend.db.target import Target
from chat_backend.revisions.throwaway_postgres import database_server, server_bin_dir

BACKEND_DIR = Path(__file__).resolve().parents[1]
JOBS = min(4, os.cpu_count() or 1)
# The three kinds of revision `make rehearse` is for: a NOT NULL column with a default (no
# rewrite), int to bigint (a rewrite), a data migration (an UPDATE).
PENDING = (
    (
        "004",
        'op.add_column("users", sa.Column("n", sa.Integer(), nullable=False, server_default="0"))',
    ),
    ("005", 'op.alter_column("users", "n", type_=sa.BigInteger(), existing_type=sa.Integer())'),
    ("006", 'op.execute("UPDATE users SET n = 1 WHERE id % 3 = 0")'),
)
REVISION = '''"""bench {revision}"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    pass
'''


def migrations_with_pending(directory: Path) -> Path:
    shutil.copy(BACKEND_DIR / "alembic.ini", directory / "alembic.ini")
    shutil.copytree(
        BACKEND_DIR / "migrations",
        directory / "migrations",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    down = "003"
    for revision, upgrade in PENDING:
        path = directory / "migrations" / "versions" / f"{revision}_bench.py"
        path.write_text(REVISION.format(revision=revision, down=down, upgrade=upgrade))
        down = revision
    return directory / "alembic.ini"


def make_dump(admin: URL, users: int, path: Path) -> None:
    target = Target.from_url(admin, "test")
    with Cluster.session(target) as cluster:
        cluster.create("bench_rehearse_source")
    try:
        url = admin.set(database="bench_rehearse_source")
        config = Config(str(BACKEND_DIR / "alembic.ini"))
        engine = create_engine(url, poolclass=NullPool)
        config.attributes["connection"] = engine
        command.upgrade(config, "head")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (username, email) SELECT 'u' || g, 'u' || g || "
                    "'@mail.example.com' FROM generate_series(1, :n) g"
                ),
                {"n": users},
            )
        engine.dispose()
        run(
            [
                binary("pg_dump"),
                "-Fc",
                *connection_args(admin),
                "-f",
                str(path),
                "bench_rehearse_source",
            ],
            admin,
        )
    finally:
        with Cluster.session(target) as cluster:
            cluster.drop("bench_rehearse_source")


def development_database(admin: URL) -> None:
    """The database a rehearsal runs beside (the guard asks it what it is); never touched."""
    target = Target.from_url(admin, "development")
    with Cluster.session(target) as cluster:
        cluster.create("bench_rehearse_dev")
    mark(target, "bench_rehearse_dev", "development")


def bare_restore(admin: URL, dump: Path) -> float:
    target = Target.from_url(admin, "test")
    with Cluster.session(target) as cluster:
        cluster.create("bench_rehearse_restore")
    try:
        return run(
            [
                binary("pg_restore"),
                *connection_args(admin),
                "--jobs",
                str(JOBS),
                "--no-owner",
                "--dbname",
                "bench_rehearse_restore",
                str(dump),
            ],
            admin,
        )
    finally:
        with Cluster.session(target) as cluster:
            cluster.drop("bench_rehearse_restore")


def rehearsal(admin: URL, alembic_ini: Path, dump: Path) -> float:
    url = admin.set(database="bench_rehearse_dev").render_as_string(hide_password=False)
    started = time.monotonic()
    completed = subprocess.run(  # noqa: S603 (our interpreter, our arguments)
        [
            sys.executable,
            "-m",
            "chat_backend.revisions.rehearsal",
            "--file",
            str(dump),
            "--config",
            str(alembic_ini),
            "--jobs",
            str(JOBS),
            "--scrub",
            str(BACKEND_DIR.parent / "db" / "rehearse" / "scrub.sql"),
        ],
        cwd=alembic_ini.parent,
        env={**os.environ, "DATABASE_URL": url, "APP_ENV": "development"},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if completed.returncode not in (0, 1) or not completed.stdout.startswith("revision"):
        raise SystemExit(f"make rehearse failed: {completed.stderr.strip()}")
    print(completed.stderr.strip(), file=sys.stderr)
    return seconds


def binary(name: str) -> str:
    bin_dir = server_bin_dir()
    return str(bin_dir / name) if bin_dir else name


def connection_args(admin: URL) -> list[str]:
    return ["-h", str(admin.host), "-p", str(admin.port), "-U", str(admin.username)]


def run(argv: list[str], admin: URL) -> float:
    started = time.monotonic()
    subprocess.run(  # noqa: S603 (the server binaries, our arguments)
        argv,
        env={**os.environ, "PGPASSWORD": admin.password or ""},
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=300_000)
    options = parser.parse_args()
    with database_server() as admin, tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "prod.dump"
        make_dump(admin, options.users, dump)
        alembic_ini = migrations_with_pending(Path(scratch))
        floor = bare_restore(admin, dump)
        development_database(admin)
        try:
            first = rehearsal(admin, alembic_ini, dump)
            second = rehearsal(admin, alembic_ini, dump)
        finally:
            with Cluster.session(Target.from_url(admin, "test")) as cluster:
                for name in cluster.names("bench_rehearse_dev"):
                    cluster.drop(name)
    users = f"{options.users:,} users, 3 revisions"
    print(
        row(
            f"`make rehearse` first run: load + rehearse ({users})",
            f"{first:.1f} s",
            "",
            f"bare `pg_restore --jobs {JOBS}`: {floor:.1f} s",
            times(first, floor),
        )
    )
    print(
        row(
            "`make rehearse` second run: cached template reused",
            f"{second:.1f} s",
            verdict("faster than the first", second < first),
            f"first run: {first:.1f} s",
            times(second, first),
        )
    )


if __name__ == "__main__":
    main()
