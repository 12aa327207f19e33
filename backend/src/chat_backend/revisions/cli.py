"""The migration tooling's command line: `python -m chat_backend.revisions COMMAND`, run from
backend/ (the Makefile's migration gate targets call it).

Exit status: 0 done, 1 a check failed, 2 it could not run (the reason on stderr).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic import command
from alembic.util import CommandError

from chat_backend.config import exit_with_problems, settings_or_exit
from chat_backend.db.alembic_config import existing_alembic_ini
from chat_backend.db.checkpoints import refuse_squashed_parents
from chat_backend.db.connection_retry import DatabaseUnreachableError
from chat_backend.db.local_guard import RefusedError
from chat_backend.exit_codes import BAD_INPUT
from chat_backend.revisions.branch_revisions import Repository
from chat_backend.revisions.checks.applied import check_configured_database
from chat_backend.revisions.checks.failure import Failure
from chat_backend.revisions.checks.gate import run_gate
from chat_backend.revisions.checks.head_file import check_head_file
from chat_backend.revisions.checks.schema_dump import write_schema_file
from chat_backend.revisions.files import autogenerate_revision, write_merge, write_revision
from chat_backend.revisions.head_file import expected, is_current, write_head_file
from chat_backend.revisions.layout import MigrationLayout
from chat_backend.revisions.migration_plan import build_plan
from chat_backend.revisions.plan_report import as_json, as_text
from chat_backend.revisions.renumber import apply, bring_database_along, plan
from chat_backend.revisions.squash import squash as squash_into_checkpoint
from chat_backend.revisions.throwaway_postgres import throwaway_database

Command = Callable[[MigrationLayout, argparse.Namespace], int]
PLAN_FORMATS = ("text", "json")


def check(layout: MigrationLayout, _args: argparse.Namespace) -> int:
    failures = run_gate(layout, throwaway_database, _report)
    if failures:
        print(f"make check: {len(failures)} problem(s), listed above", file=sys.stderr)
        return 1
    print("make check: all passed")
    return 0


def head(layout: MigrationLayout, _args: argparse.Namespace) -> int:
    failures = check_head_file(layout.script())
    _report("versions/HEAD names the head", failures)
    return 1 if failures else 0


def revision(layout: MigrationLayout, args: argparse.Namespace) -> int:
    if not args.autogenerate:
        print(f"wrote {write_revision(layout.config(), args.message)}")
        return 0
    with throwaway_database() as url:
        written = autogenerate_revision(layout, args.message, url)
    if written is None:
        print("The models match the migrations at head: nothing to autogenerate, no file written.")
        return 0
    print(f"wrote {written}")
    print("Review it: autogenerate misses renames and data changes.")
    return 0


def merge(layout: MigrationLayout, args: argparse.Namespace) -> int:
    print(f"wrote {write_merge(layout.config(), args.message)}")
    return 0


def schema(layout: MigrationLayout, _args: argparse.Namespace) -> int:
    head = _write_schema(layout)
    print(f"wrote {layout.schema_sql} (the schema at revision {head})")
    return 0


def _write_schema(layout: MigrationLayout) -> str:
    """Rewrite db/schema.sql from a throwaway database at head; the head."""
    with throwaway_database() as url:
        command.upgrade(layout.config(url), "head")
        head = layout.script().get_current_head()
        assert head is not None
        write_schema_file(layout.schema_sql, url, head)
    return head


def sql(layout: MigrationLayout, args: argparse.Namespace) -> int:
    command.upgrade(layout.config(), f"{args.start}:{args.end}", sql=True)
    return 0


def applied(layout: MigrationLayout, _args: argparse.Namespace) -> int:
    refuse_squashed_parents(layout.script(), code=BAD_INPUT)
    failures = check_configured_database(layout, settings_or_exit())
    _report("applied revisions unchanged (checksums)", failures)
    return 1 if failures else 0


def plan_next_up(layout: MigrationLayout, args: argparse.Namespace) -> int:
    if args.format not in PLAN_FORMATS:
        exit_with_problems(
            [f"format: {args.format!r} is not a format of make plan: use format=json, or none"]
        )
    refuse_squashed_parents(layout.script(), code=BAD_INPUT)
    plan = build_plan(layout, settings_or_exit())
    print(as_json(plan) if args.format == "json" else as_text(plan))
    return 0


def renumber(layout: MigrationLayout, args: argparse.Namespace) -> int:
    repository = Repository(layout.versions_dir)
    moves = plan(repository, args.base)
    if not moves:
        print(
            f"renumber: nothing to renumber: the revisions this branch added since it left "
            f"{args.base!r} (if any) already follow its head"
        )
        _keep_head_file(layout, repository)
        return 0
    logging.basicConfig(format="renumber: %(message)s")
    bring_database_along(settings_or_exit(), moves)
    apply(repository, moves)
    for move in moves:
        print(
            f"renumber: {move.file.path.name} -> {move.path.name} "
            f"(revision {move.revision}, after {move.down_revision})"
        )
    # db/schema.sql names the head, which has a new number now.
    head = _write_schema(layout)
    repository.git("add", str(layout.schema_sql))
    print(f"renumber: rewrote db/schema.sql (the schema at revision {head})")
    _keep_head_file(layout, repository)
    print("renumber: the changes are staged; run `make check`, then commit them")
    return 0


def squash(layout: MigrationLayout, args: argparse.Namespace) -> int:
    done = squash_into_checkpoint(layout, args.upto)
    print(
        f"squash: {len(done.removed)} revision files ({done.removed[0].name} to "
        f"{done.removed[-1].name}) -> {done.checkpoint.name}; commit {done.commit[:12]} keeps them"
    )
    print(
        "squash: a database built from it dumps exactly as one migrated through them "
        "(checked); db/schema.sql is unchanged"
    )
    print("squash: the changes are staged; run `make check`, then commit them")
    return 0


def _keep_head_file(layout: MigrationLayout, repository: Repository) -> None:
    """Rewrite and stage versions/HEAD when it names another file (or holds a merge
    conflict): staging it is what marks the conflict resolved."""
    script = layout.script()
    if is_current(script):
        return
    path = write_head_file(script)
    repository.git("add", path.name)
    print(f"renumber: rewrote versions/{path.name} (it names {', '.join(expected(script))})")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(MigrationLayout.at(existing_alembic_ini(args.config)), args)
    # What the user can fix: a missing file, no server, an unknown revision, nothing to merge,
    # a database that cannot be reached (the line names the setting).
    except (
        CommandError,
        FileNotFoundError,
        RuntimeError,
        ValueError,
        RefusedError,
        DatabaseUnreachableError,
    ) as error:
        exit_with_problems([str(error)])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chat_backend.revisions", description=__doc__)
    parser.add_argument(
        "--config", type=Path, help="alembic.ini (default: ALEMBIC_CONFIG, else ./alembic.ini)"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def add(name: str, run: Command, help_: str) -> argparse.ArgumentParser:
        subparser = commands.add_parser(name, help=help_, description=help_)
        subparser.set_defaults(run=run)
        return subparser

    add(
        "check",
        check,
        "the migration gate, on a throwaway PostgreSQL: numbering, one head, squawk lint, "
        "stairway, models match migrations, checksums, db/schema.sql",
    )
    add(
        "head",
        head,
        "only the check that versions/HEAD names the head revision's file (the pre-commit "
        "hook; no database)",
    )
    add_revision = add("revision", revision, "write the next numbered revision")
    add_revision.add_argument("-m", "--message", required=True)
    add_revision.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill it from the models' differences to a throwaway database at head",
    )
    add_merge = add("merge", merge, "join the heads with the next numbered merge revision")
    add_merge.add_argument("-m", "--message", default="merge heads")
    add("schema", schema, "rewrite db/schema.sql from a throwaway database at head")
    add_renumber = add(
        "renumber",
        renumber,
        "after merging BASE: give the revisions this branch added the numbers after BASE's "
        "head, rolling the local database back from what it applied under the old numbers",
    )
    add_renumber.add_argument(
        "--base",
        default=os.environ.get("BASE") or "main",
        help="the branch merged in (default: BASE, else main)",
    )
    add_squash = add(
        "squash",
        squash,
        "replace the revisions up to UPTO with one checkpoint revision, generated from a "
        "throwaway database migrated to UPTO and proven to build the same schema",
    )
    add_squash.add_argument("--upto", required=True, help="the newest revision to fold in")
    add_plan = add(
        "plan",
        plan_next_up,
        "what the next `docker compose up` / `make migrate` would do to the configured "
        "database (POSTGRES_* or DATABASE_URL), changing nothing",
    )
    add_plan.add_argument("--format", default="text", help="text (default), or json for tools")
    add_sql = add("sql", sql, "print the offline SQL of upgrading from one revision to another")
    add_sql.add_argument("--from", dest="start", default="base", help="default: base")
    add_sql.add_argument("--to", dest="end", default="head", help="default: head")
    add(
        "applied",
        applied,
        "fail if a revision applied to the configured database (POSTGRES_* or DATABASE_URL) "
        "was edited since",
    )
    return parser


def _report(name: str, failures: list[Failure]) -> None:
    # Flushed, so that each error follows its step's line even when both streams are piped.
    print(f"{'FAIL' if failures else 'ok  '}  {name}", flush=True)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr, flush=True)
        if failure.details:
            print(failure.details, file=sys.stderr, flush=True)
