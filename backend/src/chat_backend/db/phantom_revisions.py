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
- On `alembic upgrade` (the migrator of `docker compose up`, `make migrate`) in development or
  test, the phantoms are rolled back (stored_revisions.rolled_back): a snapshot first, then each
  phantom's stored `downgrade()`, newest first, each in its own transaction; then Alembic
  upgrades to this checkout's head. One log line per rolled-back revision, one with the command
  that brings the data back (`make restore name=...`). Back on the branch, the next upgrade
  applies its revisions again, as usual.
- Anything else changes nothing and exits 1 with one line naming the revisions and what to do:
  APP_ENV=production, a phantom whose source was never stored (applied before sources were
  kept), a phantom merge revision, and every command but upgrade (`alembic current`, `stamp`,
  `downgrade`).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from chat_backend.config import Settings
from chat_backend.db.stored_revisions import (
    Rollback,
    StoredRevision,
    database_heads,
    rollback_refusal,
    rolled_back,
    source_key,
    stored_sources,
)

BY_HAND = "check out the branch that has it and run `make rollback`, or `make reset`"


def find_phantoms(
    connection: Connection, script: ScriptDirectory, key: bytes | None = None
) -> list[StoredRevision]:
    """The revisions the database is at, or on the way to, that the checkout lacks, newest
    first, each with its stored source proven (or not) by `key`. Reads only the version table
    unless there are some."""
    known = {revision.revision for revision in script.walk_revisions()}
    pending = [head for head in database_heads(connection) if head not in known]
    if not pending:
        return []
    sources = stored_sources(connection, key)
    phantoms: list[StoredRevision] = []
    while pending:
        revision = pending.pop(0)
        if any(phantom.revision == revision for phantom in phantoms):
            continue
        phantom = sources.get(revision, StoredRevision(revision, None))
        phantoms.append(phantom)
        pending += [parent for parent in phantom.parents if parent not in known]
    return phantoms


def describe(phantoms: list[StoredRevision]) -> str:
    names = ", ".join(phantom.revision for phantom in phantoms)
    return (
        f"the database is at revision {names}, which this checkout does not have (a phantom: "
        "its file is on another branch)"
    )


def refusal(phantoms: list[StoredRevision], *, upgrading: bool) -> str | None:
    """Why these phantoms must not be rolled back here, with what to do; None if they may."""
    if not phantoms:
        return None
    if not upgrading:
        return (
            f"{describe(phantoms)}: `make migrate` rolls it back (development and test), "
            f"or {BY_HAND}"
        )
    return rollback_refusal(phantoms, describe(phantoms), BY_HAND)


def is_upgrade(context_module: types.ModuleType) -> bool:
    """Whether env.py runs for `alembic upgrade`: only an upgrade may roll phantoms back.

    Alembic passes each command's step function to the environment as its `fn` option, on the
    EnvironmentContext that `alembic.context` proxies (its `_proxy`; the version is pinned in
    uv.lock, and the phantom tests fail if this ever stops working)."""
    environment = vars(context_module).get("_proxy")
    options: Mapping[str, Any] = getattr(environment, "context_opts", None) or {}
    return getattr(options.get("fn"), "__name__", None) == "upgrade"


def at_checkout(
    handed_in: Engine | Connection | None,
    settings: Settings,
    script: ScriptDirectory,
    *,
    upgrading: bool,
) -> AbstractContextManager[Connection]:
    """For env.py: a connection holding the migrators' lock, to a database with no phantom
    revisions (rolled back when allowed; else exit 1 with one line, nothing changed)."""
    return rolled_back(
        handed_in,
        settings,
        Rollback(
            find=lambda connection: find_phantoms(connection, script, source_key(settings)),
            refuse=lambda phantoms: refusal(phantoms, upgrading=upgrading),
            label="phantom revision {} (not in this checkout)",
            snapshot_label="phantoms",
        ),
    )
