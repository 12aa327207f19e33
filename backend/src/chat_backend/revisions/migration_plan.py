"""`make plan`: what the next `docker compose up` / `make migrate` would do, changing nothing.

The migrator's own decisions, asked without acting on them: the stop on two files declaring
one id (revision_ids), the phantom revisions it would roll back from their stored source and
whether it would refuse to (phantom_revisions, stored_revisions: production, a host that is
not local, a source never stored, a merge revision), then the revisions `upgrade head` runs,
each judged by squawk as `make check` judges it (checks/lint). What a rollback drops is read
from the stored downgrade() without running it (stored_downgrades).

Everything is read in one READ ONLY transaction, without the migrators' lock: a migrator
running meanwhile may change the answer, never the database because of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.config import Settings
from chat_backend.db import local_guard
from chat_backend.db.connection_retry import connect
from chat_backend.db.phantom_revisions import find_phantoms, refusal
from chat_backend.db.revision_checksums import edited_revisions
from chat_backend.db.revision_ids import duplicate_problem
from chat_backend.db.stored_revisions import StoredRevision, database_heads, source_key
from chat_backend.revisions.checks.failure import Failure, revision_label
from chat_backend.revisions.checks.lint import Baseline, lint_revisions
from chat_backend.revisions.layout import MigrationLayout
from chat_backend.revisions.stored_downgrades import Drop, counted, drops

APPLIED, PENDING, PHANTOM = "applied", "pending", "phantom"


@dataclass(frozen=True)
class Link:
    """One revision of the database's chain or the checkout's, and which side has it."""

    revision: str
    state: str  # applied (both), pending (the checkout only), phantom (the database only)
    file: str | None  # the checkout's file; None for a phantom
    # Applied, but from another source than the file now (edited since, or another branch's
    # revision under the same number): the migrator only warns, and runs nothing for it.
    differs: bool = False


@dataclass(frozen=True)
class Downgrade:
    """A phantom the next up rolls back from its stored source, and what that drops."""

    revision: str
    source_stored: bool
    # Whether the key this command read proves the source (db/source_proofs); None: there is
    # no key here to judge with (the stack's migrator keeps its own in a volume). The migrator
    # runs only a source its own key proves.
    proven: bool | None
    drops: list[Drop]


@dataclass(frozen=True)
class Upgrade:
    """A revision `upgrade head` runs, with squawk's findings (judged False: the baseline
    skips the whole revision)."""

    revision: str
    file: str
    judged: bool
    findings: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class MigrationPlan:
    database: str
    app_env: str
    # Where this command read the key that proves stored sources (MIGRATION_SOURCE_KEY_FILE).
    source_key_file: str
    database_heads: list[str]
    checkout_heads: list[str]
    chain: list[Link]
    down: list[Downgrade]
    up: list[Upgrade]
    # The one line the migrator would stop with, having changed nothing.
    refusal: str | None

    @property
    def changes_nothing(self) -> bool:
        return self.refusal is not None or not (self.down or self.up)


@dataclass(frozen=True)
class _Database:
    """What the plan reads from the database, in its one read-only transaction."""

    heads: list[str]
    phantoms: list[StoredRevision]
    down: list[Downgrade]
    differ: set[str]  # applied revisions whose stored checksum is not the file's
    stop: str | None  # the migrator's refusal to roll the phantoms back


def build_plan(layout: MigrationLayout, settings: Settings) -> MigrationPlan:
    """Raises DatabaseUnreachableError (one line) when the database cannot be reached."""
    script = layout.script()
    url = settings.url
    engine = create_engine(url, poolclass=NullPool)
    try:
        with connect(engine, settings) as connection, connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            read = _read(database_the_next_up_migrates(connection), script, settings)
    finally:
        engine.dispose()
    applied = _applied(script, read.heads, read.phantoms)
    done = {rev.revision for rev in applied}
    pending = [rev for rev in reversed(list(script.walk_revisions())) if rev.revision not in done]
    return MigrationPlan(
        database=f"{url.database} on {url.host}:{url.port or 5432}",
        app_env=settings.app_env,
        source_key_file=str(settings.migration_source_key_file),
        database_heads=read.heads,
        checkout_heads=sorted(script.get_heads()),
        chain=[
            *(
                Link(rev.revision, APPLIED, _name(rev), rev.revision in read.differ)
                for rev in reversed(applied)
            ),
            *(Link(phantom.revision, PHANTOM, None) for phantom in reversed(read.phantoms)),
            *(Link(rev.revision, PENDING, _name(rev)) for rev in pending),
        ],
        down=read.down,
        up=_upgrades(layout, pending),
        refusal=duplicate_problem(layout.versions_dir) or _forked(script) or read.stop,
    )


def database_the_next_up_migrates(connection: Connection) -> Connection:
    """The database whose chain the plan compares with the checkout's: today, always the one
    configured.

    Parked copies (DESIGN §6) change that: arriving at a branch that has a parked copy whose
    chain fits the checkout's, the next `up` swaps that copy in and migrates it instead. This
    is where the plan asks for the parked copy it would swap in, and returns a (read-only)
    connection to it; the report then says which copy that is."""
    return connection


def _read(connection: Connection, script: ScriptDirectory, settings: Settings) -> _Database:
    key = source_key(settings)
    phantoms = find_phantoms(connection, script, key)
    return _Database(
        heads=database_heads(connection),
        phantoms=phantoms,
        down=[_downgrade(connection, phantom, judged=key is not None) for phantom in phantoms],
        differ={edited.revision for edited in edited_revisions(connection, script)},
        stop=refusal(phantoms, upgrading=True) or _guard_refusal(connection, settings, phantoms),
    )


def _downgrade(connection: Connection, phantom: StoredRevision, *, judged: bool) -> Downgrade:
    if phantom.source is None:
        return Downgrade(phantom.revision, source_stored=False, proven=False, drops=[])
    found = drops(phantom.source, f"<revision {phantom.revision} as stored>")
    counts = [counted(connection, drop) for drop in found]
    return Downgrade(phantom.revision, True, phantom.proven if judged else None, counts)


def _guard_refusal(
    connection: Connection, settings: Settings, phantoms: list[StoredRevision]
) -> str | None:
    """The one guard's answer for this database, as the migrator asks it before a rollback."""
    if not phantoms:
        return None
    return local_guard.refusal(settings.app_env, session=connection.connection.dbapi_connection)


def _applied(
    script: ScriptDirectory, heads: list[str], phantoms: list[StoredRevision]
) -> list[Script]:
    """The checkout's revisions the database has once its phantoms are rolled back, newest
    first."""
    known = {rev.revision for rev in script.walk_revisions()}
    tops = {head for head in heads if head in known}
    tops |= {parent for phantom in phantoms for parent in phantom.parents if parent in known}
    if not tops:
        return []
    return list(script.iterate_revisions(tuple(sorted(tops)), "base"))


def _upgrades(layout: MigrationLayout, pending: list[Script]) -> list[Upgrade]:
    findings = lint_revisions(layout, pending)
    baseline = Baseline.read(layout.squawk_baseline)
    return [
        Upgrade(
            rev.revision,
            _name(rev),
            judged=not baseline.skips(rev.revision),
            findings=[f for f in findings if f.where == revision_label(rev.revision, rev.path)],
        )
        for rev in pending
    ]


def _forked(script: ScriptDirectory) -> str | None:
    heads = sorted(script.get_heads())
    if len(heads) < 2:
        return None
    return (
        f"the checkout has {len(heads)} heads ({', '.join(heads)}), so `alembic upgrade head` "
        "stops before it starts: run `make merge`, or `make renumber` after merging a branch"
    )


def _name(revision: Script) -> str:
    return Path(revision.path).name
