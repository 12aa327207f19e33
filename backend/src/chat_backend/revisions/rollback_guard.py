"""The rollback guard: a downgrade that would drop a table or a column holding data refuses
unless forced.

`make rollback STEPS=n` writes a backup first (scripts/backup.sh), then runs
`python -m chat_backend.revisions.rollback_guard --steps n` in the migrator image. What the
downgrade drops is read from its offline SQL (`alembic downgrade current:-n --sql`), so it is
judged by the statements Alembic would run, whoever wrote the revision: each DROP TABLE and each
ALTER TABLE ... DROP COLUMN. Their rows (for a column: its non-null values) are counted before
anything changes.

Exit status: 0 rolled back; 2 nothing to roll back, or STEPS goes past the first revision;
3 refused, because data would be dropped (FORCE=1 drops it).
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, text

from chat_backend.config import exit_with_problems, settings_or_exit
from chat_backend.db.alembic_config import alembic_ini_path
from chat_backend.db.migration_runtime import connection_for
from chat_backend.exit_codes import DATA_LOSS_REFUSED

IDENTIFIER = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
NAME = rf"{IDENTIFIER}(?:\.{IDENTIFIER})?"
DROP_TABLE = re.compile(
    rf"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<names>{NAME}(?:\s*,\s*{NAME})*)", re.IGNORECASE
)
ALTER_TABLE = re.compile(
    rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<name>{NAME})", re.IGNORECASE
)
DROP_COLUMN = re.compile(
    rf"\bDROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?(?P<column>{IDENTIFIER})", re.IGNORECASE
)
COLUMN_EXISTS = text(
    "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(:table) "
    "AND attname = :column AND attnum > 0 AND NOT attisdropped)"
)


@dataclass(frozen=True)
class Drop:
    """A table, or one of its columns, that a statement drops; names as the SQL writes them."""

    table: str
    column: str | None = None

    def __str__(self) -> str:
        if self.column is None:
            return f"table {unquote(self.table)}"
        return f"column {unquote(self.table)}.{unquote(self.column)}"


@dataclass(frozen=True)
class Loss:
    drop: Drop
    rows: int

    def __str__(self) -> str:
        unit = "row" if self.drop.column is None else "non-null value"
        return f"{self.drop} ({self.rows} {unit}{'' if self.rows == 1 else 's'})"


def drops(sql: str) -> list[Drop]:
    """The tables and columns that the statements in `sql` drop, in order."""
    found: list[Drop] = []
    for statement in sql.split(";"):
        if dropped := DROP_TABLE.search(statement):
            found += [Drop(name) for name in re.findall(NAME, dropped["names"])]
        if altered := ALTER_TABLE.search(statement):
            found += [Drop(altered["name"], column) for column in DROP_COLUMN.findall(statement)]
    return found


def rows_held(connection: Connection, drop: Drop) -> int:
    """Rows of a table, or non-null values of a column; 0 when it does not exist (yet)."""
    if connection.scalar(text("SELECT to_regclass(:table)"), {"table": drop.table}) is None:
        return 0
    if drop.column is None:
        return int(connection.scalar(text(f"SELECT count(*) FROM {drop.table}")) or 0)  # noqa: S608
    exists = connection.scalar(COLUMN_EXISTS, {"table": drop.table, "column": unquote(drop.column)})
    if not exists:
        return 0
    # Names taken from Alembic's own rendering of our revisions, never from user input.
    query = f"SELECT count({drop.column}) FROM {drop.table}"  # noqa: S608
    return int(connection.scalar(text(query)) or 0)


def downgrade_sql(alembic_ini: str, current: str, steps: int) -> str:
    """The SQL of `alembic downgrade current:-steps --sql`, without its progress lines."""
    buffer = io.StringIO()
    logging.disable(logging.INFO)
    try:
        command.downgrade(
            Config(alembic_ini, output_buffer=buffer), f"{current}:-{steps}", sql=True
        )
    finally:
        logging.disable(logging.NOTSET)
    return buffer.getvalue()


def unquote(name: str) -> str:
    return ".".join(
        part[1:-1].replace('""', '"') if part.startswith('"') else part.lower()
        for part in re.findall(IDENTIFIER, name)
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings_or_exit()
    script = ScriptDirectory.from_config(Config(args.config))
    with connection_for(None, settings) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is None:
            exit_with_problems(["the database is at base (empty): there is nothing to roll back"])
        sql = _sql_or_exit(args.config, script, current, args.steps)
        losses = [Loss(drop, rows) for drop in drops(sql) if (rows := rows_held(connection, drop))]
    if losses and not args.force:
        exit_with_problems([_refusal(current, args, losses)], code=DATA_LOSS_REFUSED)
    if losses:
        print(f"rollback: dropping {', '.join(map(str, losses))}, as FORCE=1 asks", file=sys.stderr)
    command.downgrade(Config(args.config), f"-{args.steps}")
    return 0


def _sql_or_exit(alembic_ini: str, script: ScriptDirectory, current: str, steps: int) -> str:
    try:
        return downgrade_sql(alembic_ini, current, steps)
    except CommandError as error:
        exit_with_problems([_cannot_roll_back(script, current, steps, error)])


def _cannot_roll_back(
    script: ScriptDirectory, current: str, steps: int, error: CommandError
) -> str:
    applied = _applied(script, current)
    if applied is None:
        return (
            f"the database is at revision {current!r}, which these migrations do not know: "
            "check out the code that has it, then roll back"
        )
    if steps > applied:
        return (
            f"STEPS={steps} goes past the first revision: the database is at {current}, "
            f"{applied} revision(s) above base; undo them all with: make rollback STEPS={applied}"
        )
    return f"cannot roll back {steps} revision(s) from {current}: {error}"


def _applied(script: ScriptDirectory, current: str) -> int | None:
    """How many revisions the database has applied; None when the code lacks its revision."""
    if current not in {revision.revision for revision in script.walk_revisions()}:
        return None
    return len(list(script.iterate_revisions(current, "base")))


def _refusal(current: str, args: argparse.Namespace, losses: list[Loss]) -> str:
    backup = f" A backup of the database is in {args.backup}." if args.backup else ""
    return (
        f"rollback refused: undoing {args.steps} revision(s) from {current} drops data: "
        f"{', '.join(map(str, losses))}.{backup} To drop it anyway: make rollback "
        f"STEPS={args.steps} FORCE=1"
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
