"""The dump, loaded once: a template database on the local server, named after the checksum
of the dump and of the scrub script, from which each rehearsal clones its database.

Built under another name and renamed when complete (as local_db.templates builds the migrated
template), so an interrupted load never leaves a half-restored template to be cloned. One
cached template is kept: loading another dump drops the previous one, so production-sized
copies do not pile up on a developer's disk.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg2  # type: ignore[import-untyped]

from chat_backend.db.cluster import MAINTENANCE_DATABASE, Cluster, connect
from chat_backend.db.target import Target
from chat_backend.revisions.rehearsal.archive import Archive
from chat_backend.revisions.rehearsal.pg_restore import PgRestore, listed_items, restore

KEY_LENGTH = 16
BUILDING = "_building"
# Held while a dump is looked up and loaded, so that two rehearsals started together load it
# once (the second waits, then reuses it): a 64-bit number derived from a fixed name.
LOAD_LOCK_KEY = 0x63_68_61_74_2D_72_68_73  # "chat-rhs"


class ScrubError(Exception):
    """The scrub script failed on the dump; the message names it and the fix, in one line."""


@dataclass(frozen=True)
class Scrub:
    """The SQL run on the template after the load (db/rehearse/scrub.sql), and its file."""

    path: Path
    sql: str

    @classmethod
    def read(cls, path: Path) -> Scrub:
        return cls(path, path.read_text() if path.is_file() else "")


def template_prefix(database: str) -> str:
    return f"{database}_rehearsal_"


def clone_prefix(database: str) -> str:
    return f"{database}_rehearsing_"


def template_key(archive_checksum: str, scrub: Scrub) -> str:
    """The cache key: the dump's bytes and the scrub script that ran on them."""
    scrub_digest = hashlib.sha256(scrub.sql.encode()).hexdigest()
    key = f"{archive_checksum}\0{scrub_digest}".encode()
    return hashlib.sha256(key).hexdigest()[:KEY_LENGTH]


def new_clone_name(database: str) -> str:
    return f"{clone_prefix(database)}{secrets.token_hex(4)}"


def ensure_loaded(
    target: Target,
    archive: Archive,
    command: PgRestore,
    scrub: Scrub,
    jobs: int,
    progress: Callable[[int, int], None],
) -> tuple[str, bool]:
    """The cached template of this dump, loaded first if missing; and whether it was reused."""
    name = template_prefix(target.database) + template_key(archive.checksum(), scrub)
    with _load_lock(target):
        return _ensure(target, name, archive, command, scrub, jobs, progress)


def _ensure(
    target: Target,
    name: str,
    archive: Archive,
    command: PgRestore,
    scrub: Scrub,
    jobs: int,
    progress: Callable[[int, int], None],
) -> tuple[str, bool]:
    with Cluster.session(target) as cluster:
        if cluster.exists(name):
            return name, True
    with command.staged(archive) as staged:
        listed = listed_items(command, staged, archive)  # unreadable: no database is made
        building = name + BUILDING
        with Cluster.session(target) as cluster:
            cluster.drop(building)
            cluster.create(building)
        try:
            restore(
                command,
                staged,
                archive,
                building,
                jobs,
                listed,
                lambda done: progress(done, len(listed)),
            )
            _scrub_and_analyze(target, building, scrub)
        except BaseException:
            with Cluster.session(target) as cluster:
                cluster.drop(building)
            raise
    with Cluster.session(target) as cluster:
        cluster.seal(building, f"rehearsal template of {archive.path.name}, loaded {_now()}")
        cluster.rename(building, name)
        for stale in cluster.names(template_prefix(target.database)):
            if stale != name:
                cluster.drop(stale)
    return name, False


@contextmanager
def _load_lock(target: Target) -> Iterator[None]:
    """A session holding LOAD_LOCK_KEY (released when it closes, even if we are killed)."""
    session = connect(target, MAINTENANCE_DATABASE)
    try:
        session.autocommit = True
        with session.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (LOAD_LOCK_KEY,))
        yield
    finally:
        session.close()


def _scrub_and_analyze(target: Target, database: str, scrub: Scrub) -> None:
    """Scrub in one transaction, then gather the planner's statistics (pg_restore leaves none;
    production has them). A scrub's UPDATE leaves every row it changed behind as a dead copy:
    VACUUM FULL compacts the tables again, so a rewrite measures what production would write."""
    connection = connect(target, database)
    try:
        scrubbed = bool(scrub.sql.strip())
        if scrubbed:
            try:
                with connection, connection.cursor() as cursor:
                    cursor.execute(scrub.sql)
            except psycopg2.Error as error:
                reason = str(error).strip().splitlines()[0]
                raise ScrubError(
                    f"{scrub.path} failed on the dump ({reason}); it runs on the dump's schema "
                    "before any pending revision: fix it, or empty it"
                ) from None
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (FULL, ANALYZE)" if scrubbed else "ANALYZE")
    finally:
        connection.close()


def _now() -> str:
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
