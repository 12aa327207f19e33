"""Undoing applied revisions from the source the database stored when it ran them.

`rolled_back` is the one way the runtime takes revisions out of a database whose files may be
gone: the phantoms of a branch switch (phantom_revisions) and the revisions `make renumber`
moves to new numbers. Under the migrators' lock it asks what to roll back, refuses in one line
(nothing changed) where that is not allowed, else snapshots the database first
(database_snapshots; `make restore name=...` brings the data back) and runs each revision's
stored downgrade(), newest first, each in its own transaction with its version-table step and
bookkeeping row.

The snapshot is a clone, and PostgreSQL clones only a database nobody is connected to, this
session included: so it decides, ends its session (releasing the lock), snapshots, reconnects,
takes the lock again and decides afresh, and rolls back only revisions the snapshot holds (if
others appeared meanwhile, it snapshots again).

A stored source is untrusted input (anyone who can write the database can write it): it runs
only when its HMAC proves that this clone's migrator stored it (source_proofs, with a key that
is not in the database), only where the one guard allows (local_guard: development or test, a
local server, a database marked as such), and every source loads before anything is written.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, column, delete, select, table, text, update

from chat_backend.config import Settings, exit_with_problems
from chat_backend.db.database_snapshots import take_snapshot
from chat_backend.db.local_guard import refusal
from chat_backend.db.migration_runtime import connection_for, migration_lock
from chat_backend.db.revision_checksums import checksums, ensure_table
from chat_backend.db.revision_ids import DownRevision, declared_down_revision, parent_ids
from chat_backend.db.sealed_transactions import sealed
from chat_backend.db.source_proofs import is_proven, read_key

log = logging.getLogger("alembic.runtime.migration")

# Alembic's own version table, as its MigrationContext names it by default.
version_table = table("alembic_version", column("version_num"))
READ_VERSIONS = text("SELECT version_num FROM alembic_version")
RESET = "`make reset` (a fresh database at this checkout's head)"
# Snapshots taken while the revisions to roll back keep changing (another migrator on another
# checkout at the same moment) before giving up.
ATTEMPTS = 3


@dataclass(frozen=True)
class StoredRevision:
    """A revision the database applied, with the source it stored (None: never stored) and
    whether this clone's key proves that source (source_proofs); only a proven one may run."""

    revision: str
    source: str | None
    proven: bool = False

    @property
    def down_revision(self) -> DownRevision:
        if self.source is None:
            return None
        return declared_down_revision(self.source, f"<revision {self.revision} as stored>")

    @property
    def parents(self) -> tuple[str, ...]:
        return parent_ids(self.down_revision)


@dataclass(frozen=True)
class Rollback:
    """What to roll back (newest first), why it may not be, and what to call it in the log."""

    find: Callable[[Connection], list[StoredRevision]]
    refuse: Callable[[list[StoredRevision]], str | None]
    label: str  # e.g. "phantom revision {} (not in this checkout)"
    snapshot_label: str


def database_heads(connection: Connection) -> list[str]:
    """The revisions in Alembic's version table (none before the first migration). Read with
    plain queries: this runs on every migrator run, and a MigrationContext or an Inspector
    costs more (and logs its setup)."""
    if not _table_exists(connection, version_table.name):
        return []
    return list(connection.scalars(READ_VERSIONS))


def _table_exists(connection: Connection, name: str) -> bool:
    return bool(connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}))


def stored_sources(connection: Connection, key: bytes | None) -> dict[str, StoredRevision]:
    """Each recorded revision with its source (none recorded before the table existed), each
    source proven, or not, by `key`."""
    if not _table_exists(connection, checksums.name):
        return {}
    rows = connection.execute(
        select(checksums.c.revision, checksums.c.source, checksums.c.source_proof)
    )
    return {
        revision: StoredRevision(
            revision, source, source is not None and is_proven(key, revision, source, proof)
        )
        for revision, source, proof in rows
    }


def source_key(settings: Settings) -> bytes | None:
    """The key that proves stored sources, if this clone has one."""
    return read_key(settings.migration_source_key_file)


def rollback_refusal(revisions: list[StoredRevision], found: str, by_hand: str) -> str | None:
    """Why `revisions` (described by `found`) must not be rolled back from their stored
    sources; None if they may (where they are is the guard's to judge: local_guard)."""
    unstored = [stored.revision for stored in revisions if stored.source is None]
    if unstored:
        return (
            f"{found}, and the source of {', '.join(unstored)} was never stored (it was applied "
            f"before the database kept sources), so it cannot be undone from here; nothing was "
            f"changed: {by_hand}"
        )
    merges = [stored.revision for stored in revisions if len(stored.parents) > 1]
    if merges:
        return (
            f"{found}; {', '.join(merges)} is a merge revision, which is not rolled back "
            f"automatically; nothing was changed: {by_hand}"
        )
    return None


@contextmanager
def rolled_back(
    handed_in: Engine | Connection | None, settings: Settings, plan: Rollback
) -> Iterator[Connection]:
    """A connection holding the migrators' lock, once what `plan` finds is rolled back (after a
    snapshot); when `plan` refuses, exit 1 with its one line, having changed nothing."""
    holds: frozenset[str] = frozenset()
    snapshot = ""
    for _ in range(ATTEMPTS):
        with (
            connection_for(handed_in, settings) as connection,
            migration_lock(connection, settings),
        ):
            found = _found(connection, plan)
            problem = plan.refuse(found) or _not_here(connection, handed_in, settings, found)
            if problem is not None:
                exit_with_problems([problem], code=1)
            # Run before anything is written: a source that cannot even load (an import only
            # its branch has) stops here, with no snapshot left behind on every retry.
            modules = _loaded(found, plan)
            if found and holds.issuperset(stored.revision for stored in found):
                _roll_back_all(connection, found, modules, plan, snapshot)
                found = []
            if not found:
                yield connection
                return
            url = connection.engine.url
        # Outside the session: a clone needs the database to itself.
        snapshot = take_snapshot(url, plan.snapshot_label)
        holds = frozenset(stored.revision for stored in found)
    exit_with_problems(
        [
            "the revisions to roll back kept changing while snapshots were taken (another "
            "migrator on another checkout?): stop it, then run `make migrate` again"
        ],
        code=1,
    )


def _not_here(
    connection: Connection,
    handed_in: Engine | Connection | None,
    settings: Settings,
    found: list[StoredRevision],
) -> str | None:
    """Why these revisions cannot be rolled back through this connection; None if they can."""
    if not found:
        return None
    names = ", ".join(stored.revision for stored in found)
    if isinstance(handed_in, Connection):
        return f"revision {names} cannot be rolled back through a caller's open connection"
    reason = refusal(settings.app_env, session=connection.connection.dbapi_connection)
    if reason is None:
        return None
    return (
        f"the database is at revision {names}, which is not rolled back automatically here; "
        f"nothing was changed: {reason}"
    )


def roll_back(connection: Connection, stored: StoredRevision, module: types.ModuleType) -> None:
    """Run the stored downgrade() and step the version table down, in one sealed transaction:
    a downgrade that commits or ends it is stopped, and none of it is kept."""
    with sealed(connection):
        with Operations.context(MigrationContext.configure(connection)):
            module.downgrade()
        _step_down(connection, stored)
        connection.execute(delete(checksums).where(checksums.c.revision == stored.revision))


def _found(connection: Connection, plan: Rollback) -> list[StoredRevision]:
    # A caller may hand in a connection inside its own transaction (the rollback guard decides
    # and downgrades in one): look inside it, under a savepoint, rather than beside it.
    with connection.begin_nested() if connection.in_transaction() else connection.begin():
        ensure_table(connection)
        return plan.find(connection)


def _roll_back_all(
    connection: Connection,
    revisions: list[StoredRevision],
    modules: dict[str, types.ModuleType],
    plan: Rollback,
    snapshot: str,
) -> None:
    for stored in revisions:
        try:
            roll_back(connection, stored, modules[stored.revision])
        except Exception as error:  # the stored code may raise anything; said in one line
            exit_with_problems([_failed(stored, plan, snapshot, error)], code=1)
        log.warning(
            "Rolled back %s from its stored source; the database is at %s",
            plan.label.format(stored.revision),
            stored.down_revision or "base",
        )
    log.warning(
        "The data as it was before is in snapshot %r: bring it back with `make restore name=%s`",
        snapshot,
        snapshot,
    )


def _failed(stored: StoredRevision, plan: Rollback, snapshot: str, error: Exception) -> str:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines() or ["no message"]
    return (
        f"rolling back {plan.label.format(stored.revision)} from its stored source failed "
        f"({type(error).__name__}: {reason[0]}); its transaction was rolled back, so the "
        f"database is still at {stored.revision}, and snapshot {snapshot!r} holds the data as "
        f"it was: check out the branch that has it and run `make rollback`, or {RESET}"
    )


def _loaded(found: list[StoredRevision], plan: Rollback) -> dict[str, types.ModuleType]:
    """Each revision's stored source as a module, checked where it would run: exit 1 with one
    line, having changed nothing, when a source is not proven or cannot load."""
    unproven = [stored.revision for stored in found if not stored.proven]
    if unproven:
        exit_with_problems(
            [
                f"the stored source of {', '.join(map(plan.label.format, unproven))} carries "
                "no proof that this clone's migrator wrote it (planted or edited in the "
                "database, or stored with another key: a restored dump, another machine), so "
                f"it is not run; nothing was changed: check out the branch that has it and run "
                f"`make rollback`, or {RESET}"
            ],
            code=1,
        )
    modules = {}
    for stored in found:
        assert stored.source is not None
        module = types.ModuleType(f"stored_revision_{stored.revision}")
        try:
            code = compile(stored.source, f"<revision {stored.revision} as stored>", "exec")
            exec(code, module.__dict__)  # noqa: S102  # proven: this clone's migrator wrote it
        except Exception as error:  # whatever the source raises as it loads
            exit_with_problems(
                [
                    f"the stored source of {plan.label.format(stored.revision)} cannot be "
                    f"loaded ({type(error).__name__}: {error}); nothing was changed: check out "
                    f"the branch that has it and run `make rollback`, or {RESET}"
                ],
                code=1,
            )
        if not callable(getattr(module, "downgrade", None)):
            exit_with_problems(
                [
                    f"the stored source of {plan.label.format(stored.revision)} has no "
                    f"downgrade(); nothing was changed: {RESET}"
                ],
                code=1,
            )
        modules[stored.revision] = module
    return modules


def _step_down(connection: Connection, stored: StoredRevision) -> None:
    this = version_table.c.version_num == stored.revision
    if stored.down_revision is None:
        connection.execute(delete(version_table).where(this))
    else:
        connection.execute(
            update(version_table).where(this).values(version_num=stored.down_revision)
        )
