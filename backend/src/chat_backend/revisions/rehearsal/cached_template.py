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
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg2  # type: ignore[import-untyped]

from chat_backend.local_db.cluster import Cluster, connect
from chat_backend.local_db.target import Target
from chat_backend.revisions.rehearsal.archive import Archive
from chat_backend.revisions.rehearsal.pg_restore import PgRestore, item_count, restore

KEY_LENGTH = 16
BUILDING = "_building"


class ScrubError(Exception):
    """The scrub script failed on the dump; the message names it and the fix, in one line."""


def template_prefix(database: str) -> str:
    return f"{database}_rehearsal_"


def clone_prefix(database: str) -> str:
    return f"{database}_rehearsing_"


def template_key(archive_checksum: str, scrub_sql: str) -> str:
    """The cache key: the dump's bytes and the scrub script that ran on them."""
    scrub = hashlib.sha256(scrub_sql.encode()).hexdigest()
    return hashlib.sha256(f"{archive_checksum}\0{scrub}".encode()).hexdigest()[:KEY_LENGTH]


def new_clone_name(database: str) -> str:
    return f"{clone_prefix(database)}{secrets.token_hex(4)}"


def ensure_loaded(
    target: Target,
    archive: Archive,
    command: PgRestore,
    scrub_sql: str,
    jobs: int,
    progress: Callable[[int, int], None],
) -> tuple[str, bool]:
    """The cached template of this dump, loaded first if missing; and whether it was reused."""
    name = template_prefix(target.database) + template_key(archive.checksum(), scrub_sql)
    with Cluster.session(target) as cluster:
        if cluster.exists(name):
            return name, True
    with command.staged(archive) as staged:
        total = item_count(command, staged, archive)  # a corrupt table of contents: no database
        building = name + BUILDING
        with Cluster.session(target) as cluster:
            cluster.drop(building)
            cluster.create(building)
        try:
            restore(command, staged, archive, building, jobs, lambda done: progress(done, total))
            _scrub_and_analyze(target, building, scrub_sql)
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


def _scrub_and_analyze(target: Target, database: str, scrub_sql: str) -> None:
    """Scrub in one transaction, then gather the planner's statistics (pg_restore leaves none;
    production has them)."""
    connection = connect(target, database)
    try:
        if scrub_sql.strip():
            try:
                with connection, connection.cursor() as cursor:
                    cursor.execute(scrub_sql)
            except psycopg2.Error as error:
                reason = str(error).strip().splitlines()[0]
                raise ScrubError(
                    f"db/rehearse/scrub.sql failed on the dump ({reason}); it runs on the "
                    "dump's schema before any pending revision: fix it, or empty it"
                ) from None
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    finally:
        connection.close()


def _now() -> str:
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
