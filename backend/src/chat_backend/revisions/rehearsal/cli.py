"""`python -m chat_backend.revisions.rehearsal --file DUMP`: `make rehearse file=DUMP`.

Loads the dump into a cached template (cached_template), clones it, runs the pending
revisions on the clone as the migrator would (runner), drops the clone, and prints the report
(report). The development database is never touched; the server must be a local development
one (local_db.guard), or nothing is created.

Exit status: 0 no finding; 1 a revision rewrites or ACCESS EXCLUSIVE-locks a table above the
row threshold, runs past the statement timeout, or fails; 2 bad input (a missing or corrupt
dump, a bad setting, a server the guard refuses), with one line and nothing left behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg2  # type: ignore[import-untyped]

from chat_backend.config import Settings, exit_with_problems, settings_or_exit
from chat_backend.db.alembic_config import alembic_ini_path, existing_alembic_ini
from chat_backend.db.cluster import MAINTENANCE_DATABASE, Cluster, connect
from chat_backend.db.local_guard import RefusedError, require_local
from chat_backend.db.target import Target, load_target
from chat_backend.exit_codes import BAD_INPUT, FAILED
from chat_backend.revisions.rehearsal.archive import Archive, ArchiveError, open_archive
from chat_backend.revisions.rehearsal.cached_template import (
    Scrub,
    ScrubError,
    ensure_loaded,
    new_clone_name,
)
from chat_backend.revisions.rehearsal.pg_restore import (
    ComposePgRestore,
    PgRestore,
    host_pg_restore,
)
from chat_backend.revisions.rehearsal.report import (
    DEFAULT_MAX_ROWS,
    Limits,
    as_json,
    as_table,
    exit_status,
)
from chat_backend.revisions.rehearsal.runner import NotRehearsableError, Outcome, rehearse
from chat_backend.revisions.throwaway_postgres import server_bin_dir

MAX_ROWS_VARIABLE = "REHEARSE_MAX_ROWS"
SCRUB_SQL = Path("../db/rehearse/scrub.sql")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings_or_exit()
    target = load_target()
    try:
        _judge(target)
        alembic_ini = existing_alembic_ini(args.config)
        archive = open_archive(args.file)
        command = _pg_restore(args.pg_restore, target)
        scrub = Scrub.read(args.scrub)
        template = _load(target, archive, command, scrub, args.jobs)
        outcomes = _on_a_clone(target, template, alembic_ini, settings)
    except (RefusedError, ArchiveError, ScrubError, NotRehearsableError, OSError) as error:
        exit_with_problems([f"rehearse: {error}"], code=BAD_INPUT)
    except psycopg2.OperationalError as error:
        reason = (str(error).strip().splitlines() or ["no reason given"])[0]
        exit_with_problems(
            [
                f"rehearse: cannot connect to the database ({reason}): `make up` starts the "
                "stack, `make doctor` checks the settings"
            ],
            code=FAILED,
        )
    limits = Limits(args.max_rows, settings.migration_statement_timeout_ms / 1000)
    if not outcomes:
        print("rehearse: no pending revision: the dump's database is at head", file=sys.stderr)
    report = as_json(outcomes, limits) if args.format == "json" else as_table(outcomes, limits)
    print(report)
    return exit_status(outcomes, limits)


def _judge(target: Target) -> None:
    """The one guard, before anything is made: where libpq goes, where the session on the
    development database really went, and what that database says it is."""
    require_local(target.app_env, options=target.connect_options(target.database))
    session = connect(target, target.database)
    try:
        require_local(target.app_env, session=session)
    finally:
        session.close()


def _load(target: Target, archive: Archive, command: PgRestore, scrub: Scrub, jobs: int) -> str:
    started = time.monotonic()
    live = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if live:
            print(
                f"\rrehearse: loading {archive.path.name}: {done}/{total} items",
                end="",
                file=sys.stderr,
                flush=True,
            )

    template, reused = ensure_loaded(target, archive, command, scrub, jobs, progress)
    if reused:
        print(f"rehearse: reusing {template}, loaded from this dump before", file=sys.stderr)
    else:
        print(
            f"{chr(13) if live else ''}rehearse: loaded {archive.path.name} into {template} "
            f"with {jobs} job(s) in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
    return template


def _on_a_clone(
    target: Target, template: str, alembic_ini: Path, settings: Settings
) -> list[Outcome]:
    clone = new_clone_name(target.database)
    with Cluster.session(target) as cluster:
        cluster.clone(template, clone)
    try:
        return rehearse(target.url(clone), alembic_ini, settings)
    finally:
        with Cluster.session(target) as cluster:
            cluster.drop(clone)


def _pg_restore(where: str, target: Target) -> PgRestore:
    if where == "compose":
        return ComposePgRestore(tuple((os.environ.get("COMPOSE") or "docker compose").split()))
    command = host_pg_restore(target, server_bin_dir())
    connection = connect(target, MAINTENANCE_DATABASE)
    try:
        server = connection.server_version // 10_000
    finally:
        connection.close()
    if command.version() != server:
        raise ArchiveError(
            f"{command.binary} is version {command.version()} but the server is {server}: "
            "run `make rehearse`, which uses the db container's own pg_restore"
        )
    return command


def _max_rows(value: str) -> int:
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"{MAX_ROWS_VARIABLE}={value!r} is not a whole number of rows: set it to e.g. "
            f"{DEFAULT_MAX_ROWS}"
        )
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chat_backend.revisions.rehearsal")
    parser.add_argument("--file", type=Path, required=True, help="a pg_dump -Fc file or -Fd folder")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--max-rows",
        type=_max_rows,
        default=os.environ.get(MAX_ROWS_VARIABLE) or str(DEFAULT_MAX_ROWS),
        help=f"row threshold of a rewrite or ACCESS EXCLUSIVE lock ({MAX_ROWS_VARIABLE})",
    )
    parser.add_argument(
        "--pg-restore",
        choices=("host", "compose"),
        default="host",
        help="the server's own binaries (host), or the Compose db container's (compose)",
    )
    parser.add_argument("--scrub", type=Path, default=SCRUB_SQL, help="SQL run on the template")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--config", type=Path, default=alembic_ini_path(), help="alembic.ini")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
