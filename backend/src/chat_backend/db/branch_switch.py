"""Every branch keeps its own data: what the migrator does first on `alembic upgrade` when the
database holds another branch's data (DESIGN §6, parked_copies).

The live database's comment names the branch whose data it is (branch_marker); the checkout's
branch comes from git's files, mounted read-only (checkout_branch). Under the migrators' lock:

- same branch, or an unmarked database (a new volume, a reset, a restored snapshot): nothing
  to switch; the unmarked one becomes this branch's. A teammate's new revision on the same
  branch is upgraded in place, as always.
- another branch's data, and a parked copy of this branch that fits the checkout: the live
  database is parked under its branch and the copy renamed in (one transaction), then Alembic
  upgrades whatever the checkout has beyond it. No stored downgrade runs.
- another branch's data with phantoms, and no copy that fits: the live database is parked (a
  clone) under its branch, then the phantoms are rolled back as before (phantom_revisions).
- another branch's data without phantoms, and no copy that fits: it becomes this branch's and is
  upgraded in place.

A database is marked as the checked-out branch's (mark_served, called by env.py) only once it
is at the checkout, phantoms rolled back: a refused rollback leaves it marked as the branch
whose data it still is. The swap's renames end every session of the live database, this
migrator's too, so the migrators' lock is held while deciding and let go just before; the
local-database lock (local_db.cluster), which resets and snapshots take too, is held
throughout.

An unknown branch (no `.git`, a detached HEAD, a worktree whose git directory is not mounted)
changes nothing here: the phantom rollback runs as before, said in one line. Outside
development and test, on a handed-in connection (template builds, tests) and for every command
but upgrade, this does nothing: the rollback path refuses what it must.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, select, text

from chat_backend.config import Settings
from chat_backend.db.branch_marker import READ_OWN_COMMENT, marked_branch, marker_comment
from chat_backend.db.checkout_branch import Checkout, read_checkout
from chat_backend.db.local_guard import LOCAL_APP_ENVS, refusal
from chat_backend.db.migration_runtime import connection_for, migration_lock
from chat_backend.db.parked_copies import (
    Chain,
    ParkedCopy,
    find,
    park_clone,
    parked,
    prune,
    swap_in,
)
from chat_backend.db.phantom_revisions import find_phantoms
from chat_backend.db.revision_checksums import checksums, file_checksum
from chat_backend.db.stored_revisions import database_heads
from chat_backend.local_db.cluster import Cluster
from chat_backend.local_db.target import Target

log = logging.getLogger("alembic.runtime.migration")


@dataclass(frozen=True)
class LiveData:
    """The served database: whose data it is, its revisions, and whether the checkout lacks
    some of them (phantoms)."""

    database: str
    branch: str | None
    heads: tuple[str, ...]
    chain: Chain
    has_phantoms: bool


def switch_branch(
    handed_in: Engine | Connection | None,
    settings: Settings,
    script: ScriptDirectory,
    *,
    upgrading: bool,
) -> str | None:
    """For env.py, before the phantom rollback: serve this branch's parked copy if it has one
    that fits, parking the data being left. Returns the branch to mark the database with once
    its phantoms are rolled back (`mark_served`), or None."""
    if handed_in is not None or not upgrading or settings.checkout_dir is None:
        return None
    if settings.app_env not in LOCAL_APP_ENVS:
        return None
    checkout = read_checkout(settings.checkout_dir)
    with ExitStack() as after_lock:
        with connection_for(None, settings) as connection, migration_lock(connection, settings):
            live = _live_data(connection, script)
            if not _switching(connection, settings, checkout, live):
                return None
            assert checkout.branch is not None
            if live.branch is None:
                return checkout.branch  # unmarked: this branch's, once at the checkout
            target = Target.from_url(connection.engine.url, settings.app_env)
            cluster = after_lock.enter_context(Cluster.session(target))
            arriving = find(cluster, live.database, checkout.branch)
            fits = arriving is not None and arriving.fits(_checkout_chain(script))
        # The migrators' lock is released here, as the renames end every session of the
        # database (this one too); the cluster session still holds its own lock.
        leaving = parked(live.database, live.branch, live.heads, live.chain)
        to_mark: str | None = None
        if arriving is not None and fits:
            _swap(cluster, live, leaving, arriving)
        else:
            _keep_in_place(cluster, live, leaving, checkout.branch, arriving)
            to_mark = checkout.branch
        for line in prune(
            cluster, live.database, settings.parked_branches_max, checkout.has_branch
        ):
            log.warning("%s", line)
        return to_mark


def mark_served(connection: Connection, branch: str | None) -> None:
    """For env.py, once at the checkout (phantoms rolled back): the database is `branch`'s data
    from now on. Not before: a refused rollback leaves it the data of the branch it was."""
    if branch is None:
        return
    if connection.in_transaction():
        connection.commit()
    database = connection.scalar(text("SELECT current_database()"))
    quoted = connection.dialect.identifier_preparer.quote_identifier(str(database))
    connection.execute(text(f"COMMENT ON DATABASE {quoted} IS :c"), {"c": marker_comment(branch)})
    connection.commit()


def _switching(
    connection: Connection, settings: Settings, checkout: Checkout, live: LiveData
) -> bool:
    """Whether the data served is not (known to be) the checked-out branch's, and may be
    switched here."""
    if checkout.branch is None:
        if live.has_phantoms:
            log.warning(
                "Branch data: the branch is unknown (%s), so no copy is parked or swapped in; "
                "the phantoms are rolled back after a snapshot, as without branches",
                checkout.unknown,
            )
        return False
    if live.branch == checkout.branch:
        return False
    # Not a local development database: the phantom rollback refuses, saying why.
    return refusal(settings.app_env, session=connection.connection.dbapi_connection) is None


def _live_data(connection: Connection, script: ScriptDirectory) -> LiveData:
    with connection.begin():
        database = str(connection.scalar(text("SELECT current_database()")))
        branch = marked_branch(connection.scalar(text(READ_OWN_COMMENT)))
        heads = tuple(database_heads(connection))
        chain = _applied_chain(connection)
        return LiveData(database, branch, heads, chain, bool(find_phantoms(connection, script)))


def _applied_chain(connection: Connection) -> Chain:
    """Each applied revision's id and checksum (none before the table existed)."""
    if not connection.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": checksums.name}):
        return frozenset()
    rows = connection.execute(select(checksums.c.revision, checksums.c.sha256))
    return frozenset((str(revision), str(sha)) for revision, sha in rows)


def _checkout_chain(script: ScriptDirectory) -> Chain:
    return frozenset(
        (revision.revision, file_checksum(revision.path)) for revision in script.walk_revisions()
    )


def _swap(cluster: Cluster, live: LiveData, leaving: ParkedCopy, arriving: ParkedCopy) -> None:
    swap_in(cluster, live.database, leaving, arriving)
    log.warning(
        "Branch data: serving the parked copy of branch %r (at revision %s, parked %s); the "
        "data of branch %r (at %s) is parked until you check it out again. No revision was "
        "rolled back",
        arriving.branch,
        arriving.head,
        f"{arriving.parked_at:%Y-%m-%d %H:%M} UTC",
        leaving.branch,
        leaving.head,
    )


def _keep_in_place(
    cluster: Cluster,
    live: LiveData,
    leaving: ParkedCopy,
    branch: str,
    arriving: ParkedCopy | None,
) -> None:
    """No copy of `branch` to swap in: the live data becomes `branch`'s (mark_served), parked
    first when revisions are to be rolled back."""
    if arriving is not None:
        log.warning(
            "Branch data: the parked copy of branch %r (at revision %s) does not fit this checkout "
            "(a revision it applied is missing or was edited): left as it is; "
            "`make drop-branch name=%s` deletes it",
            branch,
            arriving.head,
            branch,
        )
    if live.has_phantoms:
        park_clone(cluster, live.database, leaving)
        log.warning(
            "Branch data: the data of branch %r (at revision %s) is parked; branch %r has no "
            "parked copy that fits, so the phantoms are rolled back from their stored source",
            leaving.branch,
            leaving.head,
            branch,
        )
