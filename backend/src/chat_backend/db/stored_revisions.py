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

Stored sources are executed: they are revisions this project's migrator once ran, read back
from the database it ran them on, and only in development or test.
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
from chat_backend.db.local_database import LOCAL_APP_ENVS, is_local_host
from chat_backend.db.migration_runtime import connection_for, migration_lock
from chat_backend.db.revision_checksums import checksums, ensure_table
from chat_backend.db.revision_ids import DownRevision, declared_down_revision

log = logging.getLogger("alembic.runtime.migration")

# Alembic's own version table, as its MigrationContext names it by default.
version_table = table("alembic_version", column("version_num"))
READ_VERSIONS = text("SELECT version_num FROM alembic_version")
# Snapshots taken while the revisions to roll back keep changing (another migrator on another
# checkout at the same moment) before giving up.
ATTEMPTS = 3


@dataclass(frozen=True)
class StoredRevision:
    """A revision the database applied, with the source it stored (None: never stored)."""

    revision: str
    source: str | None

    @property
    def down_revision(self) -> DownRevision:
        if self.source is None:
            return None
        return declared_down_revision(self.source, f"<revision {self.revision} as stored>")

    @property
    def parents(self) -> tuple[str, ...]:
        down = self.down_revision
        return down if isinstance(down, tuple) else ((down,) if down else ())


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


def stored_sources(connection: Connection) -> dict[str, str | None]:
    """Each recorded revision's source (none recorded before the table existed)."""
    if not _table_exists(connection, checksums.name):
        return {}
    rows = connection.execute(select(checksums.c.revision, checksums.c.source))
    return {revision: source for revision, source in rows}


def rollback_refusal(
    revisions: list[StoredRevision], app_env: str, found: str, by_hand: str
) -> str | None:
    """Why `revisions` (described by `found`) must not be rolled back; None if they may."""
    if app_env not in LOCAL_APP_ENVS:
        return (
            f"{found}; nothing was changed, as APP_ENV is {app_env!r}: deploy the code that has "
            f"it, or {by_hand}"
        )
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
            problem = plan.refuse(found) or _not_here(connection, handed_in, found)
            if problem is not None:
                exit_with_problems([problem], code=1)
            if found and holds.issuperset(stored.revision for stored in found):
                _roll_back_all(connection, found, plan, snapshot)
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


def connected_host(connection: Connection) -> str | None:
    """The host libpq really connected to, after PGHOST, host lists and URL parameters (a
    socket directory for a Unix socket)."""
    info = getattr(connection.connection.dbapi_connection, "info", None)
    host = getattr(info, "host", None)
    return host if isinstance(host, str) else None


def host_refusal(host: str | None, revisions: list[StoredRevision]) -> str | None:
    """Why revisions on `host` are not rolled back automatically; None for a local host."""
    if not revisions or is_local_host(host):
        return None
    return (
        f"the database on host {host!r} is at revision "
        f"{', '.join(stored.revision for stored in revisions)}, which is not rolled back "
        "automatically there, as the host is not local; nothing was changed: check out the "
        "branch that has it and run `make rollback`, or point POSTGRES_HOST (or DATABASE_URL) "
        "at the Compose service db or at localhost"
    )


def _not_here(
    connection: Connection, handed_in: Engine | Connection | None, found: list[StoredRevision]
) -> str | None:
    """Why these revisions cannot be rolled back through this connection; None if they can."""
    problem = host_refusal(connected_host(connection), found)
    if problem is None and found and isinstance(handed_in, Connection):
        names = ", ".join(stored.revision for stored in found)
        problem = f"revision {names} cannot be rolled back through a caller's open connection"
    return problem


def roll_back(connection: Connection, stored: StoredRevision) -> None:
    """Run the stored downgrade() and step the version table down, in one transaction."""
    module = _module_of(stored)
    with connection.begin():
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
    connection: Connection, revisions: list[StoredRevision], plan: Rollback, snapshot: str
) -> None:
    for stored in revisions:
        roll_back(connection, stored)
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


def _module_of(stored: StoredRevision) -> types.ModuleType:
    assert stored.source is not None
    module = types.ModuleType(f"stored_revision_{stored.revision}")
    code = compile(stored.source, f"<revision {stored.revision} as stored>", "exec")
    exec(code, module.__dict__)  # noqa: S102  # the database's own record of what it ran
    return module


def _step_down(connection: Connection, stored: StoredRevision) -> None:
    this = version_table.c.version_num == stored.revision
    if stored.down_revision is None:
        connection.execute(delete(version_table).where(this))
    else:
        connection.execute(
            update(version_table).where(this).values(version_num=stored.down_revision)
        )
