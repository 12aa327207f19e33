"""Checksums of applied revisions, so that a revision file edited after it ran is caught.

When a revision is applied, the sha256 of its file is stored beside Alembic's version table,
in the same transaction; downgrading it removes the row. Later, a file whose hash differs from
the stored one was edited after the database ran it: that database (and every other one that
ran the old text) no longer matches what the code says it has.

The table belongs to this runtime, not to a revision: no revision can forget or drop it, and
`alembic check` ignores it (migration_runtime.CONTEXT_OPTIONS).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from weakref import WeakSet

from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import (
    CHAR,
    TIMESTAMP,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects.postgresql import insert

log = logging.getLogger("alembic.runtime.migration")

# Named after Alembic's version table, which it sits beside; its own metadata keeps it out of
# the models'.
checksums = Table(
    "alembic_version_checksums",
    MetaData(),
    Column("revision", String(32), primary_key=True),
    Column("sha256", CHAR(64), nullable=False),
    Column("applied_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
)
TABLE = checksums.name

# The migration runs (Alembic's contexts) that made sure of the table: once per run, so that
# bookkeeping costs each revision one statement, not a catalog query as well.
_runs_with_table: WeakSet[MigrationContext] = WeakSet()


@dataclass(frozen=True)
class EditedRevision:
    """An applied revision whose file no longer hashes to what was stored when it ran."""

    revision: str
    path: Path
    recorded: str
    current: str

    rule = "edited-after-apply"
    fix = (
        'undo the edit and put the change in a new revision (make revision m="..."), or '
        "rebuild a disposable database (make reset)"
    )

    @property
    def where(self) -> str:
        return f"revision {self.revision} ({self.path.name})"

    @property
    def problem(self) -> str:
        return (
            f"the file changed after this database applied it (sha256 {self.recorded[:12]} "
            f"then, {self.current[:12]} now)"
        )

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.problem}; {self.fix}"


def file_checksum(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# Alembic passes every argument by name, so the unused ones keep their names.
def record_checksum(
    ctx: MigrationContext,
    step: MigrationInfo,
    heads: Collection[Any],  # noqa: ARG001
    run_args: Mapping[str, Any],  # noqa: ARG001
) -> None:
    """Alembic's `on_version_apply` hook: runs in the transaction that applied the step."""
    connection = ctx.connection
    if connection is None or ctx.as_sql:
        return
    if ctx not in _runs_with_table:
        checksums.create(connection, checkfirst=True)
        _runs_with_table.add(ctx)
    if step.is_upgrade:
        script = step.up_revision
        assert isinstance(script, Script)
        record = insert(checksums).values(
            revision=script.revision, sha256=file_checksum(script.path)
        )
        connection.execute(
            record.on_conflict_do_update(
                index_elements=[checksums.c.revision],
                set_={"sha256": record.excluded.sha256, "applied_at": func.now()},
            )
        )
    else:
        connection.execute(delete(checksums).where(checksums.c.revision.in_(step.up_revision_ids)))


def edited_revisions(connection: Connection, script: ScriptDirectory) -> list[EditedRevision]:
    """Applied revisions whose files changed since. Left out: revisions applied before
    checksums were recorded, and a database at a revision the code does not have (Alembic
    itself refuses that one)."""
    if not inspect(connection).has_table(TABLE):
        return []
    recorded = dict(connection.execute(select(checksums.c.revision, checksums.c.sha256)).all())
    heads = MigrationContext.configure(connection).get_current_heads()
    try:
        applied = list(script.iterate_revisions(heads, "base"))
    except RevisionError:
        return []
    edited = []
    for revision in applied:
        stored = recorded.get(revision.revision)
        if stored is None:
            continue
        current = file_checksum(revision.path)
        if stored != current:
            edited.append(EditedRevision(revision.revision, Path(revision.path), stored, current))
    return sorted(edited, key=lambda found: found.revision)


def warn_about_edited_revisions(connection: Connection, script: ScriptDirectory) -> None:
    """For env.py, before migrating (outside a transaction): log each edited revision.

    A warning, not a failure: the database is what it is, and refusing to migrate would not
    change that. `make check` fails on the same finding.
    """
    with connection.begin():
        edited = edited_revisions(connection, script)
    for revision in edited:
        log.warning("%s", revision)
