"""Phantom revisions: the database is at a revision this checkout does not have.

Design. Switching branches changes the revision files under a database that stays where it
was: on `main`, a database migrated on a feature branch is at that branch's `004`, which
Alembic cannot locate, and the migrator would stop every `docker compose up`. So:

- The migrator stores each applied revision's source beside its checksum (revision_checksums,
  one statement per revision), so a revision can be undone after its file left the checkout.
- Every online run of env.py asks, under the migrators' lock, which of the database's heads the
  checkout lacks (`find_phantoms`): one read of the version table on the usual, no-op path.
  Phantoms are followed down through their stored `down_revision` to a revision the checkout
  has.
- On `alembic upgrade` in development or test, the phantoms are rolled back: a snapshot first
  (database_snapshots; `make restore name=...` brings the data back), then each phantom's stored
  `downgrade()`, newest first, each in its own transaction (its schema change, the version
  table and its bookkeeping row together); then Alembic upgrades to this checkout's head. One
  log line per rolled-back revision, one with the restore command.
- Anything else changes nothing and exits 1 with one line: APP_ENV=production, a phantom whose
  source was never stored (applied before sources were kept), a phantom merge revision, and
  every command but upgrade (`alembic current`, `stamp`, `downgrade`).

The snapshot is a clone, and PostgreSQL clones only a database nobody is connected to, the
migrator included: so the migrator decides, ends its session (releasing the lock), snapshots,
reconnects, takes the lock again and decides afresh. It rolls back only phantoms the snapshot
holds; if others appeared meanwhile, it snapshots again.

Stored sources are executed: they are revisions this project's migrator once ran, read back
from the database it ran them on, and only in development or test.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, column, delete, inspect, select, table, update

from chat_backend.config import Settings, exit_with_problems
from chat_backend.db.database_snapshots import take_snapshot
from chat_backend.db.migration_runtime import connection_for, migration_lock
from chat_backend.db.revision_checksums import checksums, ensure_table
from chat_backend.db.revision_ids import DownRevision, declared_down_revision

log = logging.getLogger("alembic.runtime.migration")

# Alembic's own version table, as its MigrationContext names it by default.
version_table = table("alembic_version", column("version_num"))

LOCAL_APP_ENVS = frozenset({"development", "test"})
SNAPSHOT_LABEL = "before-phantom-rollback"
# Snapshots taken while other phantoms keep appearing (another checkout migrating the same
# database at the same moment) before giving up.
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
class Snapshot:
    name: str
    holds: frozenset[str]

    @property
    def restore_command(self) -> str:
        return f"make restore name={self.name}"


def find_phantoms(connection: Connection, script: ScriptDirectory) -> list[StoredRevision]:
    """The revisions the database is at, or on the way to, that the checkout lacks, newest
    first. Reads only the version table unless there are some."""
    heads = database_heads(connection)
    known = {revision.revision for revision in script.walk_revisions()}
    pending = [head for head in heads if head not in known]
    if not pending:
        return []
    sources: dict[str, str | None] = {
        revision: source
        for revision, source in connection.execute(select(checksums.c.revision, checksums.c.source))
    }
    phantoms: list[StoredRevision] = []
    while pending:
        revision = pending.pop(0)
        if any(phantom.revision == revision for phantom in phantoms):
            continue
        phantom = StoredRevision(revision, sources.get(revision))
        phantoms.append(phantom)
        pending += [parent for parent in phantom.parents if parent not in known]
    return phantoms


def database_heads(connection: Connection) -> list[str]:
    """The revisions in Alembic's version table (none before the first migration). Read
    directly: a MigrationContext would log its setup on every run."""
    if not inspect(connection).has_table(version_table.name):
        return []
    return list(connection.scalars(select(version_table.c.version_num)))


def refusal(phantoms: list[StoredRevision], app_env: str, *, upgrading: bool) -> str | None:
    """Why these phantoms must not be rolled back here, with what to do; None if they may."""
    if not phantoms:
        return None
    names = ", ".join(phantom.revision for phantom in phantoms)
    found = (
        f"the database is at revision {names}, which this checkout does not have (a phantom: "
        "its file is on another branch)"
    )
    by_hand = "check out the branch that has it and run `make rollback`, or `make reset`"
    if not upgrading:
        return f"{found}: `make migrate` rolls it back (development and test), or {by_hand}"
    if app_env not in LOCAL_APP_ENVS:
        return (
            f"{found}; nothing was changed, as APP_ENV is {app_env!r}: deploy the code that has "
            f"it, or {by_hand}"
        )
    unstored = [phantom.revision for phantom in phantoms if phantom.source is None]
    if unstored:
        return (
            f"{found}, and the source of {', '.join(unstored)} was never stored (it was applied "
            f"before the database kept sources), so it cannot be undone from here; nothing was "
            f"changed: {by_hand}"
        )
    merges = [phantom.revision for phantom in phantoms if len(phantom.parents) > 1]
    if merges:
        return (
            f"{found}; {', '.join(merges)} is a merge revision, which is not rolled back "
            f"automatically; nothing was changed: {by_hand}"
        )
    return None


def roll_back(connection: Connection, phantom: StoredRevision) -> None:
    """Run the phantom's stored downgrade() and step the version table down, in one
    transaction."""
    module = _module_of(phantom)
    with connection.begin():
        with Operations.context(MigrationContext.configure(connection)):
            module.downgrade()
        _step_down(connection, phantom)
        connection.execute(delete(checksums).where(checksums.c.revision == phantom.revision))


def is_upgrade(context_module: types.ModuleType) -> bool:
    """Whether env.py runs for `alembic upgrade`: only an upgrade may roll phantoms back.

    Alembic passes each command's step function to the environment as its `fn` option, on the
    EnvironmentContext that `alembic.context` proxies (its `_proxy`; the version is pinned in
    uv.lock, and the round-trip tests fail if this ever stops working)."""
    environment = vars(context_module).get("_proxy")
    options: Mapping[str, Any] = getattr(environment, "context_opts", None) or {}
    return getattr(options.get("fn"), "__name__", None) == "upgrade"


@contextmanager
def at_checkout(
    handed_in: Engine | Connection | None,
    settings: Settings,
    script: ScriptDirectory,
    *,
    upgrading: bool,
) -> Iterator[Connection]:
    """A connection holding the migrators' lock, to a database with no phantom revisions:
    rolled back (after a snapshot) when allowed, else exit 1 with one line, changing nothing."""
    snapshot: Snapshot | None = None
    for _ in range(ATTEMPTS):
        with (
            connection_for(handed_in, settings) as connection,
            migration_lock(connection, settings),
        ):
            phantoms = _phantoms(connection, script)
            problem = refusal(phantoms, settings.app_env, upgrading=upgrading)
            if problem is None and phantoms and isinstance(handed_in, Connection):
                problem = (
                    "the phantom revisions cannot be snapshotted through a caller's open connection"
                )
            if problem is not None:
                exit_with_problems([problem], code=1)
            if snapshot is not None and snapshot.holds.issuperset(p.revision for p in phantoms):
                _roll_back_all(connection, phantoms, snapshot)
                phantoms = []
            if not phantoms:
                yield connection
                return
            url = connection.engine.url
        # Outside the session: a clone needs the database to itself.
        snapshot = Snapshot(
            take_snapshot(url, SNAPSHOT_LABEL), frozenset(p.revision for p in phantoms)
        )
    exit_with_problems(
        [
            "phantom revisions kept changing while the migrator took snapshots (another migrator "
            "on another checkout?): stop it, then run `make migrate` again"
        ],
        code=1,
    )


def _phantoms(connection: Connection, script: ScriptDirectory) -> list[StoredRevision]:
    with connection.begin():
        ensure_table(connection)
        return find_phantoms(connection, script)


def _roll_back_all(
    connection: Connection, phantoms: list[StoredRevision], snapshot: Snapshot
) -> None:
    for phantom in phantoms:
        roll_back(connection, phantom)
        log.info(
            "Rolled back phantom revision %s (not in this checkout) from its stored source; "
            "the database is at %s",
            phantom.revision,
            phantom.down_revision or "base",
        )
    log.info(
        "The data of the rolled-back revisions is in snapshot %r: bring it back with `%s`",
        snapshot.name,
        snapshot.restore_command,
    )


def _module_of(phantom: StoredRevision) -> types.ModuleType:
    assert phantom.source is not None
    module = types.ModuleType(f"stored_revision_{phantom.revision}")
    code = compile(phantom.source, f"<revision {phantom.revision} as stored>", "exec")
    exec(code, module.__dict__)  # noqa: S102  # the database's own record of what it ran
    return module


def _step_down(connection: Connection, phantom: StoredRevision) -> None:
    this = version_table.c.version_num == phantom.revision
    if phantom.down_revision is None:
        connection.execute(delete(version_table).where(this))
    else:
        connection.execute(
            update(version_table).where(this).values(version_num=phantom.down_revision)
        )
