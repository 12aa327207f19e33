"""The rollback guard: a downgrade that would lose data refuses unless forced.

`make rollback STEPS=n` writes a backup first (scripts/backup.sh), then runs
`python -m chat_backend.revisions.rollback_guard --steps n` in the migrator image. The guard
judges what the downgrade really does, not what its SQL seems to say:

1. it takes the migrators' lock, then reads the database's revision and turns STEPS into an
   absolute target revision, so two rollbacks at once cannot both count from the same start;
2. in ONE transaction of that locked session it blocks writes to every table (SHARE lock),
   counts every table's rows and every column's non-null values, runs the downgrade to the
   target, and counts again. Objects are matched by their catalog identity (table OID, column
   number), so a table or column renamed by a later revision is still itself, and whatever
   disappears with `CASCADE`, `DROP SCHEMA` or a dropped type is missed like any other drop;
3. if data would be lost, the transaction is rolled back and nothing changed; otherwise (or
   with FORCE=1) it commits. The decision and the act are one transaction under one lock.

Going below a checkpoint (`make squash`) is refused before anything runs: there is no
revision before it, only every table dropped. FORCE=1 drops them, on a database the local
database guard lets through.

Exit status: 0 rolled back; 2 nothing to roll back, or STEPS goes past the first revision;
3 refused, because data would be lost (FORCE=1 drops it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from chat_backend.config import exit_with_problems, settings_or_exit
from chat_backend.db import environment_marker
from chat_backend.db.alembic_config import alembic_ini_path
from chat_backend.db.checkpoints import Checkpoint, refuse_squashed_parents
from chat_backend.db.local_guard import RefusedError, refusal
from chat_backend.db.lock_timeouts import is_lock_timeout, lock_timeout_advice
from chat_backend.db.migration_runtime import connection_for, migration_lock
from chat_backend.db.revision_checksums import TABLE as CHECKSUM_TABLE
from chat_backend.db.sealed_transactions import (
    REFUSED_COMMIT,
    EscapedError,
    is_refused_commit,
    sealed,
)
from chat_backend.exit_codes import DATA_LOSS_REFUSED
from chat_backend.revisions.checkpoint_guard import allow_dropping_checkpoints

# Alembic's own bookkeeping changes on every downgrade by design: not data.
BOOKKEEPING = frozenset({"alembic_version", CHECKSUM_TABLE, environment_marker.TABLE})
TABLES = text(
    "SELECT c.oid, n.nspname, c.relname FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' "
    "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY c.oid"
)
COLUMNS = text(
    "SELECT attnum, attname FROM pg_attribute WHERE attrelid = :table AND attnum > 0 "
    "AND NOT attisdropped ORDER BY attnum"
)


@dataclass(frozen=True)
class Held:
    """What one table, or one of its columns, holds: rows, or non-null values."""

    table: str
    column: str | None
    count: int
    # A column's values, as an order-free digest (the sum of their hashes); None for a table.
    digest: str | None = None

    def __str__(self) -> str:
        return (
            f"table {self.table}" if self.column is None else f"column {self.table}.{self.column}"
        )


@dataclass(frozen=True)
class Loss:
    held: Held
    remaining: int | None  # None: the table or column is gone

    def __str__(self) -> str:
        unit = "row" if self.held.column is None else "non-null value"
        lost = self.held.count - (self.remaining or 0)
        plural = "" if lost == 1 else "s"
        if self.remaining is None:
            return f"{self.held} ({lost} {unit}{plural})"
        held_plural = "" if self.held.count == 1 else "s"
        return f"{self.held} ({lost} of {self.held.count} {unit}{held_plural} deleted)"


@dataclass(frozen=True)
class Change:
    """A column that keeps its values' count but not the values (a narrowed type, a cut)."""

    held: Held

    def __str__(self) -> str:
        return f"{self.held} (values changed in place)"


# Keys: (table OID, 0) for a table's rows, (table OID, attnum) for a column's values.
Holdings = dict[tuple[int, int], Held]


def holdings(connection: Connection) -> Holdings:
    """Rows of every table, and non-null values of every column with their digest, keyed by
    catalog identity. A value's digest is the hash of its text form, so a type change that
    keeps every value (integer to bigint) keeps the digest, and one that alters any value
    (numeric to integer, text cut to a length, JSONB keys stripped) changes it."""
    found: Holdings = {}
    for oid, schema, name in connection.execute(TABLES).all():
        if name in BOOKKEEPING:
            continue
        label = name if schema == "public" else f"{schema}.{name}"
        qualified = f"{_quoted(connection, schema)}.{_quoted(connection, name)}"
        columns = connection.execute(COLUMNS, {"table": oid}).all()
        measures = [
            f"count({quoted}), sum(hashtextextended({quoted}::text, 0))"
            for quoted in (_quoted(connection, column) for _, column in columns)
        ]
        # Names come from the catalog, always quoted.
        query = f"SELECT {', '.join(['count(*)', *measures])} FROM {qualified}"  # noqa: S608
        rows, *values = connection.execute(text(query)).one()
        found[(oid, 0)] = Held(label, None, int(rows))
        for index, (attnum, column) in enumerate(columns):
            count, digest = values[2 * index], values[2 * index + 1]
            found[(oid, attnum)] = Held(label, column, int(count), str(digest))
    return found


def losses(before: Holdings, after: Holdings) -> list[Loss]:
    """Data in `before` that is not in `after`: columns first, then tables. A dropped table's
    columns go unlisted, and so do the values of rows deleted from a table that stays."""
    shrunk = {
        oid
        for (oid, attnum), held in before.items()
        if attnum == 0 and _lost(held, after.get((oid, 0)))
    }
    columns, tables = [], []
    for (oid, attnum), held in before.items():
        kept = after.get((oid, attnum))
        if not _lost(held, kept):
            continue
        loss = Loss(held, None if kept is None else kept.count)
        if attnum == 0:
            tables.append(loss)
        elif oid not in shrunk:
            columns.append(loss)
    return columns + tables


def changes(before: Holdings, after: Holdings) -> list[Change]:
    """Columns of tables that kept their rows, whose values are not all what they were."""
    changed = []
    for (oid, attnum), held in before.items():
        kept = after.get((oid, attnum))
        table_kept = not _lost(before[(oid, 0)], after.get((oid, 0)))
        if attnum and kept and table_kept and not _lost(held, kept) and kept.digest != held.digest:
            changed.append(Change(held))
    return changed


def _lost(held: Held, kept: Held | None) -> bool:
    return held.count > 0 and (kept is None or kept.count < held.count)


def _quoted(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def target_revision(script: ScriptDirectory, current: str, steps: int) -> str:
    """The revision `steps` below `current` ("base" below the first); exits 2 when it
    cannot be named."""
    revision = current
    for taken in range(steps):
        found = script.get_revision(revision)
        down = found.down_revision if found is not None else None
        if down is None:
            if taken + 1 == steps:
                return "base"
            applied = taken + 1
            exit_with_problems(
                [
                    f"STEPS={steps} goes past the first revision: the database is at {current}, "
                    f"{applied} revision(s) above base; undo them all with: make rollback "
                    f"STEPS={applied}"
                ]
            )
        if not isinstance(down, str):
            exit_with_problems(
                [
                    f"cannot count {steps} revision(s) back from {current}: revision "
                    f"{revision} merges {', '.join(down)}; roll back to one of them by hand "
                    "(alembic downgrade REVISION) after a backup"
                ]
            )
        revision = down
    return revision


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings_or_exit()
    config = Config(args.config)
    script = ScriptDirectory.from_config(config)
    refuse_squashed_parents(script)
    with connection_for(None, settings) as connection, migration_lock(connection, settings):
        reason = refusal(settings.app_env, session=connection.connection.dbapi_connection)
        if reason is not None:
            exit_with_problems([f"rollback: {reason}"], code=1)
        current = MigrationContext.configure(connection).get_current_revision()
        if connection.in_transaction():
            connection.commit()
        if current is None:
            exit_with_problems(["the database is at base (empty): there is nothing to roll back"])
        if not _known(script, current):
            exit_with_problems([_unknown(current)])
        target = target_revision(script, current, args.steps)
        if target == "base":
            _through_checkpoint(script, current, config, args, connection)
        try:
            _roll_back(connection, config, current, target, args)
        except EscapedError as error:
            exit_with_problems([_escaped(current, target, str(error))], code=1)
        except DBAPIError as error:
            if is_refused_commit(error):
                exit_with_problems([_escaped(current, target, REFUSED_COMMIT)], code=1)
            exit_with_problems([_failed(connection, current, target, error)], code=1)
        except Exception as error:  # rolled back in _roll_back; said in one line
            exit_with_problems([_not_judged(current, target, error)], code=1)
    return 0


def _roll_back(
    connection: Connection, config: Config, current: str, target: str, args: argparse.Namespace
) -> None:
    """Downgrade to `target` in one sealed transaction (a downgrade that commits or ends it is
    stopped, and everything rolled back); roll it back (exit 3) if it loses or changes data."""
    with sealed(connection):
        _block_writes(connection)
        before = holdings(connection)
        config.attributes["connection"] = connection
        command.downgrade(config, target)
        after = holdings(connection)
        lost: list[Loss | Change] = [*losses(before, after), *changes(before, after)]
        if lost and not args.force:
            exit_with_problems([_refusal(current, target, args, lost)], code=DATA_LOSS_REFUSED)
        if lost:
            print(
                f"rollback: dropping {', '.join(map(str, lost))}, as FORCE=1 asks", file=sys.stderr
            )


def _through_checkpoint(
    script: ScriptDirectory,
    current: str,
    config: Config,
    args: argparse.Namespace,
    connection: Connection,
) -> None:
    """Going to base from above a checkpoint drops every table it made: refused in one line,
    unless FORCE=1 and the local database guard lets this database through."""
    first = list(script.iterate_revisions(current, "base"))[-1]
    checkpoint = Checkpoint.read(Path(first.path))
    if checkpoint is None:
        return
    if not args.force:
        exit_with_problems(
            [
                f"rollback refused: STEPS={args.steps} goes below checkpoint "
                f"{checkpoint.revision} ({checkpoint.path.name}), which has no revision before "
                "it: going down drops every table; nothing was changed. In development, "
                f"`make rollback STEPS={args.steps} FORCE=1` drops them all, or run `make reset`"
            ],
            code=1,
        )
    try:
        allow_dropping_checkpoints(config, settings_or_exit().app_env, connection.engine.url)
    except RefusedError as error:
        exit_with_problems([f"rollback refused: {error}"], code=1)


def _block_writes(connection: Connection) -> None:
    """SHARE-lock every table: rows written after the count could not be seen by it."""
    names = [
        f"{_quoted(connection, schema)}.{_quoted(connection, name)}"
        for _, schema, name in connection.execute(TABLES).all()
    ]
    if names:
        connection.execute(text(f"LOCK TABLE {', '.join(names)} IN SHARE MODE"))


def _known(script: ScriptDirectory, current: str) -> bool:
    return current in {revision.revision for revision in script.walk_revisions()}


def _unknown(current: str) -> str:
    return (
        f"the database is at revision {current!r}, which these migrations do not know: "
        "check out the code that has it, then roll back"
    )


def _failed(connection: Connection, current: str, target: str, error: DBAPIError) -> str:
    reason = str(error.orig or error).strip().splitlines()[0]
    if is_lock_timeout(error):
        reason += f": {lock_timeout_advice(connection, error.statement)}"
    return (
        f"rollback from {current} to {target} failed: {reason}. It ran in one transaction, "
        "which was rolled back: the database is unchanged"
    )


def _escaped(current: str, target: str, what: str) -> str:
    return (
        f"rollback from {current} to {target} refused: {what}, so the database is unchanged. "
        "The guard can only judge a downgrade that runs in its one transaction: after "
        f"`make backup`, downgrade by hand with `alembic downgrade {target}`, or give the "
        "statement that needs its own transaction a revision of its own"
    )


def _not_judged(current: str, target: str, error: Exception) -> str:
    # Alembic cannot run an autocommit block inside the caller's transaction (it asserts).
    return (
        f"rollback from {current} to {target} cannot run in one transaction "
        f"({type(error).__name__}: {error or 'no message'}), so its losses cannot be counted; "
        "it was rolled back: the database is unchanged. A revision in the range probably "
        "needs its own transaction (an autocommit block): after `make backup`, downgrade by "
        f"hand with `alembic downgrade {target}`"
    )


def _refusal(current: str, target: str, args: argparse.Namespace, lost: list[Loss | Change]) -> str:
    backup = f" A backup of the database is in {args.backup}." if args.backup else ""
    verb = "drops" if any(isinstance(item, Loss) for item in lost) else "changes"
    return (
        f"rollback refused: undoing {args.steps} revision(s) from {current} to {target} {verb} "
        f"data: {', '.join(map(str, lost))}; nothing was changed.{backup} To {verb[:-1]} it "
        f"anyway: make rollback STEPS={args.steps} FORCE=1"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chat_backend.revisions.rollback_guard")
    parser.add_argument("--steps", type=_steps, default=1, help="revisions to undo")
    parser.add_argument("--force", action="store_true", help="roll back even if it drops data")
    parser.add_argument("--backup", help="the backup written before this run, for the messages")
    parser.add_argument("--config", default=str(alembic_ini_path()), help="alembic.ini")
    return parser


def _steps(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a whole number of revisions, at least 1: make rollback STEPS=2"
        )
    return int(value)


if __name__ == "__main__":
    raise SystemExit(main())
