"""Checksums and sources of applied revisions: a revision file edited after it ran is caught,
and a revision whose file is gone from the checkout can still be undone.

When a revision is applied, the sha256 of its file, the file's source and the HMAC that
proves the source is this clone's migrator's (source_proofs) are stored beside Alembic's
version table, by one statement in the same transaction; downgrading it removes the
row. Later, a file whose hash differs from the stored one was edited after the database ran it:
that database (and every other one that ran the old text) no longer matches what the code says
it has. A revision the checkout lacks (a phantom, after `git checkout`) is rolled back from its
stored source (phantom_revisions).

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
    Text,
    bindparam,
    delete,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.sql.elements import TextClause

from chat_backend.config import Settings
from chat_backend.db.environment_marker import DISPOSABLE
from chat_backend.db.source_proofs import key_for_writing, proof

log = logging.getLogger("alembic.runtime.migration")

# Named after Alembic's version table, which it sits beside; its own metadata keeps it out of
# the models'.
checksums = Table(
    "alembic_version_checksums",
    MetaData(),
    Column("revision", String(32), primary_key=True),
    Column("sha256", CHAR(64), nullable=False),
    Column("applied_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    # NULL in rows written before sources were kept: such a revision cannot be undone from here.
    Column("source", Text, nullable=True),
    # The HMAC that proves the source is this clone's migrator's (source_proofs); NULL when it
    # had no key: such a source is never run.
    Column("source_proof", CHAR(64), nullable=True),
)
TABLE = checksums.name
# Once per migrator run, before any revision is applied: the table, and the columns that
# tables made before them lack. All no-ops when present, so the hook below stays one statement.
ENSURE_TABLE = text(
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "revision VARCHAR(32) PRIMARY KEY, sha256 CHAR(64) NOT NULL, "
    "applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), source TEXT, "
    "source_proof CHAR(64)); "
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS source TEXT; "
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS source_proof CHAR(64)"
)
# The MigrationContext option that carries the key for record_checksum (see recording).
SOURCE_KEY = "chat_backend_source_key"


def _upsert(new_row: Insert) -> Insert:
    """`new_row`, or on a revision applied before, the values replacing its row."""
    return new_row.on_conflict_do_update(
        index_elements=[checksums.c.revision],
        set_={
            "sha256": new_row.excluded.sha256,
            "source": new_row.excluded.source,
            "source_proof": new_row.excluded.source_proof,
            "applied_at": func.now(),
        },
    )


# Built once, with its values as parameters: a migrator runs it once per revision it applies
# (a statement built per call cost 1.6 ms a revision, measured at 100 revisions).
RECORD = _upsert(
    insert(checksums).values(
        revision=bindparam("revision"),
        sha256=bindparam("sha256"),
        source=bindparam("source"),
        source_proof=bindparam("source_proof"),
    )
)


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


def recording(settings: Settings, *, online: bool = True) -> dict[str, Any]:
    """env.py's context options that record each applied revision: the hook, and the key
    that proves the sources it stores (made on first use by an online migrator in development
    and test; `--sql` only uses a key that exists)."""
    create = online and settings.app_env in DISPOSABLE
    key = key_for_writing(settings.migration_source_key_file, create=create)
    return {"on_version_apply": record_checksum, SOURCE_KEY: key}


def ensure_table(connection: Connection) -> None:
    """Create the table, or add the source column to an older one (in the caller's transaction)."""
    connection.execute(ENSURE_TABLE)


# Alembic passes every argument by name, so the unused ones keep their names.
def record_checksum(
    ctx: MigrationContext,
    step: MigrationInfo,
    heads: Collection[Any],
    run_args: Mapping[str, Any],  # noqa: ARG001
) -> None:
    """Alembic's `on_version_apply` hook: runs in the transaction that applied the step, as
    one statement (the table exists: env.py calls ensure_table first), or writes it into the
    script with `--sql` (offline_statements makes the table there).

    After a downgrade or a stamp, only the revisions still applied keep a row: a stamp from
    003 down to 001 removes those of 002 and 003."""
    if ctx.connection is None:
        return
    if step.is_upgrade:
        script = step.up_revision
        assert isinstance(script, Script)
        content = Path(script.path).read_bytes()
        source = content.decode("utf-8")
        key = ctx.opts.get(SOURCE_KEY)
        values = {
            "revision": script.revision,
            "sha256": hashlib.sha256(content).hexdigest(),
            "source": source,
            "source_proof": None if key is None else proof(key, script.revision, source),
        }
        if ctx.as_sql:  # --sql: the values go into the script, so into the statement
            ctx.execute(_upsert(insert(checksums).values(values)))
        else:
            ctx.connection.execute(RECORD, values)
        return
    applied = _still_applied(ctx, heads)
    if applied is None:  # heads the code does not know: remove what the step names
        ctx.execute(delete(checksums).where(checksums.c.revision.in_(step.up_revision_ids)))
    else:
        ctx.execute(delete(checksums).where(checksums.c.revision.not_in(sorted(applied))))


def offline_statements() -> list[TextClause]:
    """What an offline script (`alembic upgrade --sql`) needs before its first revision."""
    return [ENSURE_TABLE]


def _still_applied(ctx: MigrationContext, heads: Collection[Any]) -> set[str] | None:
    script = ctx.script
    if script is None:
        return None
    try:
        return {revision.revision for revision in script.iterate_revisions(tuple(heads), "base")}
    except RevisionError:
        return None


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
    """For env.py, before migrating (outside a transaction, or in a caller's own): log each
    edited revision.

    A warning, not a failure: the database is what it is, and refusing to migrate would not
    change that. `make check` fails on the same finding.
    """
    if connection.in_transaction():  # a caller's own transaction (the rollback guard)
        edited = edited_revisions(connection, script)
    else:
        with connection.begin():
            edited = edited_revisions(connection, script)
    for revision in edited:
        log.warning("%s", revision)
