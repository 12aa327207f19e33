"""A snapshot of the database taken by the migrator itself, before it rolls revisions back.

A sealed clone beside the database, named as `make snapshot name=...` names its snapshots
(`<database>_snapshot_<name>`), so `make restore name=...` brings it back and `make snapshots`
lists it. A clone (`CREATE DATABASE ... TEMPLATE`) rather than pg_dump: the image has no
pg_dump, and a clone takes milliseconds. PostgreSQL copies only a database nobody is connected
to, so for the copy new sessions are refused and open ones ended (they reconnect afterwards);
the caller must have closed its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import URL, Connection, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.snapshot_names import snapshot_prefix

MAINTENANCE_DATABASE = "postgres"
# PostgreSQL cuts identifiers at 63 bytes; a longer name would silently meet another one.
MAX_IDENTIFIER = 63
# How long a session still connected to the database gets to end.
TERMINATE_TIMEOUT_MS = 5_000


def take_snapshot(url: URL, label: str) -> str:
    """Clone the database of `url` into a sealed snapshot named `<label>-<UTC time>` (made
    unique), and return that name (what `make restore name=...` takes)."""
    database = url.database or ""
    taken = datetime.now(UTC)
    engine = create_engine(
        url.set(database=MAINTENANCE_DATABASE), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as admin:
            name = _free_name(admin, database, f"{label}-{taken:%Y%m%d-%H%M%S}")
            _clone(admin, database, snapshot_prefix(database) + name)
            _seal(admin, snapshot_prefix(database) + name, f"{taken:%Y-%m-%d %H:%M:%S} UTC")
    finally:
        engine.dispose()
    return name


def _free_name(admin: Connection, database: str, wanted: str) -> str:
    wanted = wanted[: MAX_IDENTIFIER - len(snapshot_prefix(database)) - 3]
    name, n = wanted, 1
    while admin.scalar(
        text("SELECT 1 FROM pg_database WHERE datname = :name"),
        {"name": snapshot_prefix(database) + name},
    ):
        n += 1
        name = f"{wanted}-{n}"
    return name


def _clone(admin: Connection, source: str, clone: str) -> None:
    source_name, clone_name = _quoted(admin, source), _quoted(admin, clone)
    admin.execute(text(f"ALTER DATABASE {source_name} WITH ALLOW_CONNECTIONS false"))
    try:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid, :timeout) FROM pg_stat_activity "
                "WHERE datname = :source AND pid <> pg_backend_pid()"
            ),
            {"timeout": TERMINATE_TIMEOUT_MS, "source": source},
        )
        admin.execute(text(f"CREATE DATABASE {clone_name} TEMPLATE {source_name}"))
    finally:
        admin.execute(text(f"ALTER DATABASE {source_name} WITH ALLOW_CONNECTIONS true"))


def _seal(admin: Connection, name: str, comment: str) -> None:
    """A template nobody can connect to, as `make snapshot` leaves its snapshots."""
    quoted = _quoted(admin, name)
    admin.execute(text(f"ALTER DATABASE {quoted} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"))
    admin.execute(text(f"COMMENT ON DATABASE {quoted} IS :comment"), {"comment": comment})


def _quoted(admin: Connection, name: str) -> str:
    return admin.dialect.identifier_preparer.quote_identifier(name)
