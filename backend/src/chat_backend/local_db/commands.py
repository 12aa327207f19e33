"""The command line of the local databases: `python -m chat_backend.local_db --help`.

The make targets (`make reset`, `make snapshot name=...`, ...) run it inside the stack, where
the environment names the database. Every command but the listings (`snapshots`, `branches`)
passes the guard first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg2  # type: ignore[import-untyped]

from chat_backend.db import environment_marker, parked_copies
from chat_backend.db.alembic_config import alembic_ini_path
from chat_backend.db.branch_marker import marked_branch
from chat_backend.db.checkout_branch import Checkout, read_checkout
from chat_backend.db.local_guard import RefusedError, require_local
from chat_backend.exit_codes import FAILED, NO_TEMPLATE
from chat_backend.local_db import snapshots, templates
from chat_backend.local_db.cluster import Cluster, connect, mark
from chat_backend.local_db.snapshots import SnapshotError
from chat_backend.local_db.target import Target, load_target

Handler = Callable[[Target, argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    target = load_target()
    handler: Handler = args.handler
    try:
        # A snapshot's name fails before connecting; a branch's is any name git allows.
        if getattr(args, "name", None) is not None and handler is not _drop_branch:
            snapshots.snapshot_database(target.database, args.name)
        if handler not in (_list_snapshots, _list_branches, _mark_database):
            args.environment = _judge(target)
        return handler(target, args)
    except (RefusedError, SnapshotError, FileNotFoundError) as error:
        return _fail(str(error))
    except psycopg2.OperationalError as error:
        return _fail(_unreachable(target, error))


def _judge(target: Target) -> str | None:
    """The one guard, on a session of the very database the command acts on: where libpq
    really connected, and what the database says it is; that environment, which a reset
    carries over to the database it makes."""
    require_local(target.app_env, options=target.connect_options(target.database))
    session = connect(target, target.database)
    try:
        require_local(target.app_env, session=session)
        return environment_marker.read(session)
    finally:
        session.close()


def _reset(target: Target, args: argparse.Namespace) -> int:
    started = time.monotonic()
    with Cluster.session(target) as cluster:
        if args.require_template and not cluster.names(templates.template_prefix(target.database)):
            # `make reset` then recreates the volume (the first reset), and builds the template
            # for the next ones.
            print("reset: no migrated template on this server yet", file=sys.stderr)
            return NO_TEMPLATE
        template, built = templates.ensure_template(
            cluster, target, args.alembic_ini, args.init_sql or ""
        )
        cluster.replace(target.database, template)
    # The new database says what the one it replaced said (a template built without the db
    # init SQL carries no marker of its own).
    mark(target, target.database, args.environment)
    built_first = " (the template was built first: new or changed migrations)" if built else ""
    print(
        f"reset: {target.database!r} is empty at head, a clone of {template}, "
        f"in {_elapsed_ms(started)} ms{built_first}"
    )
    return 0


def _template(target: Target, args: argparse.Namespace) -> int:
    with Cluster.session(target) as cluster:
        template, built = templates.ensure_template(
            cluster, target, args.alembic_ini, args.init_sql or ""
        )
    print(f"template: {template} {'built' if built else 'is current'}")
    return 0


def _snapshot(target: Target, args: argparse.Namespace) -> int:
    snapshots.snapshot_database(target.database, args.name)  # a bad name fails before connecting
    with Cluster.session(target) as cluster:
        snapshots.take(cluster, target.database, args.name)
    print(f"snapshot: {args.name!r} taken; bring it back with `make restore name={args.name}`")
    return 0


def _restore(target: Target, args: argparse.Namespace) -> int:
    snapshots.snapshot_database(target.database, args.name)
    started = time.monotonic()
    with Cluster.session(target) as cluster:
        snapshots.restore(cluster, target.database, args.name)
    elapsed = _elapsed_ms(started)
    print(f"restore: {target.database!r} is snapshot {args.name!r} again, in {elapsed} ms")
    return 0


def _drop_snapshot(target: Target, args: argparse.Namespace) -> int:
    snapshots.snapshot_database(target.database, args.name)
    with Cluster.session(target) as cluster:
        snapshots.drop(cluster, target.database, args.name)
    print(f"drop-snapshot: {args.name!r} deleted")
    return 0


def _list_snapshots(target: Target, _: argparse.Namespace) -> int:
    with Cluster.session(target) as cluster:
        found = snapshots.listing(cluster, target.database)
    if not found:
        print(f"no snapshots of {target.database!r} yet: make snapshot name={snapshots.EXAMPLE}")
        return 0
    width = max(len("NAME"), *(len(snapshot.name) for snapshot in found))
    print(f"{'NAME':<{width}}  {'SIZE':>9}  TAKEN")
    for snapshot in found:
        print(f"{snapshot.name:<{width}}  {_size(snapshot.size_bytes):>9}  {snapshot.taken_at}")
    return 0


def _list_branches(target: Target, _: argparse.Namespace) -> int:
    with Cluster.session(target) as cluster:
        copies = parked_copies.listing(cluster, target.database)
        serving = marked_branch(cluster.comment(target.database))
    print(f"{target.database!r} serves " + (f"branch {serving!r}" if serving else "no branch yet"))
    if not copies:
        print("no parked copies: a branch's data is parked when you switch away from it")
        return 0
    checkout = _checkout()
    rows = [
        (
            copy.branch,
            copy.head,
            _size(copy.size_bytes),
            _age(copy.parked_at),
            _in_git(checkout, copy.branch),
        )
        for copy in copies
    ]
    header = ("BRANCH", "HEAD", "SIZE", "PARKED", "IN GIT")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _drop_branch(target: Target, args: argparse.Namespace) -> int:
    with Cluster.session(target) as cluster:
        dropped = parked_copies.drop(cluster, target.database, args.name)
    if not dropped:
        return _fail(f"there is no parked copy of branch {args.name!r}: `make branches` lists them")
    print(f"drop-branch: the parked copy of branch {args.name!r} is deleted")
    return 0


def _checkout() -> Checkout | None:
    directory = os.environ.get("CHECKOUT_DIR", "")
    return read_checkout(Path(directory)) if directory else None


def _in_git(checkout: Checkout | None, branch: str) -> str:
    exists = None if checkout is None else checkout.has_branch(branch)
    return {True: "yes", False: "no (pruned at the next switch)", None: "unknown"}[exists]


def _age(moment: datetime) -> str:
    seconds = max((datetime.now(UTC) - moment).total_seconds(), 0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def _mark_database(target: Target, args: argparse.Namespace) -> int:
    """Say what the database is: the one thing the guard cannot decide for you. Not guarded
    itself: marking a database is how you tell the guard what you mean."""
    mark(target, target.database, args.env)
    print(f"mark-database: {target.database!r} says it is a {args.env!r} database now")
    return 0


def _check(target: Target, _: argparse.Namespace) -> int:
    print(f"guard: {target.database!r} on {target.host} is a local {target.app_env} database")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chat_backend.local_db",
        description="Disposable local databases: reset, snapshots, the migrated template.",
    )
    parser.add_argument(
        "--alembic-ini",
        type=Path,
        default=alembic_ini_path(),
        help="Alembic's config, whose revision files the template follows (ALEMBIC_CONFIG)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    reset = _command(commands, "reset", _reset, "empty the database at head, from the template")
    reset.add_argument(
        "--require-template",
        action="store_true",
        help=f"exit {NO_TEMPLATE} instead of building a template when the server has none yet",
    )
    _add_init_sql(reset)
    _add_init_sql(_command(commands, "template", _template, "build the template if outdated"))
    _command(commands, "guard", _check, "exit 1 unless the database is a local development one")
    _command(commands, "snapshots", _list_snapshots, "list the snapshots, with size and time")
    _command(commands, "branches", _list_branches, "list the parked copies of branches' data")
    _command(
        commands, "drop-branch", _drop_branch, "delete the parked copy of branch NAME"
    ).add_argument("name", metavar="NAME", help="a git branch, e.g. feature/notes")
    _command(
        commands, "mark", _mark_database, "say what the database is (the guard reads it)"
    ).add_argument("env", choices=environment_marker.ENVIRONMENTS, metavar="ENV")
    for name, handler, summary in (
        ("snapshot", _snapshot, "save the database as snapshot NAME"),
        ("restore", _restore, "replace the database with a copy of snapshot NAME"),
        ("drop-snapshot", _drop_snapshot, "delete snapshot NAME"),
    ):
        _command(commands, name, handler, summary).add_argument(
            "name", metavar="NAME", help=f"e.g. {snapshots.EXAMPLE}"
        )
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    summary: str,
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=summary, description=summary)
    command.set_defaults(handler=handler)
    return command


def _add_init_sql(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--init-sql",
        type=_read_text,
        default=None,  # not "": argparse would pass a string default through _read_text
        metavar="FILE",
        help="SQL run in a new template before migrating (db/init/*.sql); - reads stdin",
    )


def _read_text(path: str) -> str:
    return sys.stdin.read() if path == "-" else Path(path).read_text()


def _unreachable(target: Target, error: Exception) -> str:
    reason = str(error).strip().splitlines()[0]
    fix = (
        "the db volume keeps the password of its first start: put the old POSTGRES_PASSWORD "
        "back, or recreate the volume with `make reset HARD=1`"
        if "password authentication failed" in reason
        else "start it with `make up`, or check POSTGRES_HOST and POSTGRES_PORT"
    )
    return f"cannot reach the database server at {target.host}:{target.port} ({reason}): {fix}"


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _size(size_bytes: int) -> str:
    size, unit = float(size_bytes), "B"
    for larger in ("kB", "MB", "GB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{size:.1f} {unit}"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return FAILED
