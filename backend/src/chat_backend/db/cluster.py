"""Whole databases on one PostgreSQL server, through an admin session on its maintenance
database: create, clone, drop, swap in a clone, swap two databases' names, seal as a
template, list.

The one module that creates and drops databases: the local-database commands, the revision
tooling's throwaway database (chat_backend.revisions.throwaway_postgres) and the tests' fixtures
all go through it.

psycopg2 directly, not SQLAlchemy: SQLAlchemy's import alone would take most of a reset's
half-second budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg2  # type: ignore[import-untyped]
from psycopg2 import sql

from chat_backend.db import environment_marker
from chat_backend.db.local_guard import RefusedError, require_local
from chat_backend.db.session_ender import SessionEnder
from chat_backend.db.target import Target

MAINTENANCE_DATABASE = "postgres"
PROTECTED_DATABASES = frozenset({MAINTENANCE_DATABASE, "template0", "template1"})
# One advisory lock for every session of this module on a server (a 64-bit number derived from
# a fixed name), so two resets, template builds or test fixtures never trip over each other's
# databases.
LOCK_KEY = 0x63_68_61_74_2D_6C_64_62  # "chat-ldb"
CONNECT_TIMEOUT_S = 5


# A sealed database is a template nobody can connect to; unsealed, an ordinary one again.
_SEALED = sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE {} ALLOW_CONNECTIONS {}")
_COMMENT = sql.SQL("COMMENT ON DATABASE {} IS %s")


@dataclass(frozen=True)
class DatabaseInfo:
    name: str
    size_bytes: int
    comment: str | None


class Cluster:
    """An autocommit admin session on the server's maintenance database, holding the lock."""

    def __init__(self, connection: Any, target: Target) -> None:
        self._connection = connection
        self._target = target

    @classmethod
    @contextmanager
    def session(cls, target: Target) -> Iterator[Cluster]:
        connection = admin_session(target)
        try:
            connection.autocommit = True
            cluster = cls(connection, target)
            cluster._execute(sql.SQL("SELECT pg_advisory_lock(%s)"), LOCK_KEY)
            yield cluster
        finally:
            connection.close()  # also releases the advisory lock

    def exists(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 FROM pg_database WHERE datname = %s", name))

    def names(self, prefix: str) -> list[str]:
        """The databases whose names start with `prefix`, sorted."""
        rows = self._rows(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
            prefix,
        )
        return [str(row[0]) for row in rows]

    def describe(self, prefix: str) -> list[DatabaseInfo]:
        """Name, size on disk and comment of the databases whose names start with `prefix`."""
        rows = self._rows(
            "SELECT datname, pg_database_size(oid), shobj_description(oid, 'pg_database') "
            "FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
            prefix,
        )
        return [DatabaseInfo(str(name), int(size), comment) for name, size, comment in rows]

    def create(self, name: str) -> None:
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def clone(self, source: str, name: str) -> None:
        """Copy `source`, which nobody may be connected to (a sealed template is safe)."""
        self._execute(_copying(source, name))

    def clone_live(self, source: str, name: str) -> None:
        """Copy `source` while applications use it: its sessions are ended, and new ones wait,
        for the few milliseconds of the copy (they reconnect afterwards)."""
        self._alone_on(source, _copying(source, name))

    def replace(self, name: str, source: str) -> None:
        """Make `name` a fresh copy of `source`, ending the sessions connected to the old one.

        The old database goes first: DROP DATABASE forces a checkpoint, which after the copy
        would have to write out and fsync the copy's ~300 files (most of a second on a slow
        disk); dropped first, the old database's unwritten pages are simply discarded. The
        database is missing for the few milliseconds of the copy."""
        self.drop(name)
        self.clone(source, name)

    def rename(self, name: str, new_name: str) -> None:
        self._execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(name), sql.Identifier(new_name)
            )
        )

    def swap(self, live: str, park_as: str, arriving: str, comments: dict[str, str]) -> None:
        """Park `live` as `park_as` (sealed) and rename the sealed `arriving` to `live`, with
        `comments` (by final name) set, in ONE transaction: killed at any point, every database
        keeps its name, its data and its comment. The sessions connected to `live` are ended
        (renaming needs the database to itself); new ones wait until the transaction ends, then
        reconnect to the new `live`."""
        rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
        self._execute(sql.SQL("BEGIN"))
        try:
            self._alone_on(live, rename.format(sql.Identifier(live), sql.Identifier(park_as)))
            self._execute(_sealing(park_as, sealed=True))
            self._execute(_sealing(arriving, sealed=False))
            self._execute(rename.format(sql.Identifier(arriving), sql.Identifier(live)))
            for name, comment in comments.items():
                self._execute(_COMMENT.format(sql.Identifier(name)), comment)
            self._execute(sql.SQL("COMMIT"))
        except BaseException:
            self._execute(sql.SQL("ROLLBACK"))
            raise

    def comment(self, name: str) -> str | None:
        rows = self._rows(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            name,
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def seal(self, name: str, comment: str) -> None:
        """Make `name` a template nobody can connect to (so it can always be cloned)."""
        self._execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                sql.Identifier(name)
            )
        )
        self._execute(sql.SQL("COMMENT ON DATABASE {} IS %s").format(sql.Identifier(name)), comment)

    def drop(self, name: str) -> None:
        """Drop `name` if it exists, sealed or not, ending the sessions connected to it."""
        if name in PROTECTED_DATABASES:
            raise RefusedError(
                f"refusing to drop {name!r}, one of the server's own databases: set POSTGRES_DB "
                "to your application's database"
            )
        if self._rows("SELECT 1 FROM pg_database WHERE datname = %s AND datistemplate", name):
            self._execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name))
            )
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def _alone_on(self, database: str, statement: sql.Composable) -> None:
        """Run `statement`, which locks `database` and needs it to itself (a rename, a copy),
        while another session ends the database's sessions once that lock is held.

        Why not end them first: the API's pool reconnects at once, and is back before the
        statement takes its lock; PostgreSQL then waits 5 s for it to leave and fails ("being
        accessed by other users"). Once the lock is held, a new session waits for it instead
        of joining. Nothing is committed on the way (unlike refusing connections with ALTER
        DATABASE), so a command killed half-way leaves the database as it was."""
        [(oid,)] = self._rows("SELECT oid FROM pg_database WHERE datname = %s", database)
        ender = SessionEnder(
            partial(admin_session, self._target), oid, self._connection.get_backend_pid()
        )
        ender.start()
        try:
            self._execute(statement)
        except BaseException as error:
            ender.finish()
            if ender.error is not None:
                error.add_note(f"ending the sessions of {database!r} failed: {ender.error}")
            raise
        ender.finish()

    def _execute(self, statement: sql.Composable, *params: object) -> None:
        with self._connection.cursor() as cursor:
            cursor.execute(statement, params or None)

    def _rows(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        with self._connection.cursor() as cursor:
            cursor.execute(query, params)
            return list(cursor.fetchall())


def _copying(source: str, name: str) -> sql.Composable:
    return sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(source)
    )


def _sealing(name: str, *, sealed: bool) -> sql.Composable:
    return _SEALED.format(sql.Identifier(name), sql.Literal(sealed), sql.Literal(not sealed))


def admin_session(target: Target) -> Any:
    """A session on the target's maintenance database, refused unless it reached a local
    server (the databases it acts on are judged by its callers)."""
    connection = connect(target, MAINTENANCE_DATABASE)
    try:
        require_local(target.app_env, session=connection, marker=False)
    except BaseException:
        connection.close()
        raise
    return connection


def connect(target: Target, database: str) -> Any:
    """A psycopg2 connection to `database` on the target's server."""
    return psycopg2.connect(
        **target.connect_options(database),
        connect_timeout=CONNECT_TIMEOUT_S,
        application_name="chat-local-db",
    )


def mark(target: Target, database: str, environment: str) -> None:
    """Make `database` on the target's server say it is an `environment` one
    (environment_marker): `make mark-database`, a reset, a template, the tests."""
    connection = connect(target, database)
    try:
        with connection:
            environment_marker.write(connection, environment)
    finally:
        connection.close()
