"""What one revision did to the database, read inside its own transaction just before it
commits: every lock a transaction takes is held until it ends, so the locks, the relfilenodes
(a new one means the table was rewritten) and the transaction's own row counters
(pg_stat_xact_user_tables) are all still there to read.

The probe listens on the migrator's connection (SQLAlchemy's begin, cursor and commit events)
and reads through the driver's own cursor, so its queries are no statements of the revision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event

from chat_backend.db import environment_marker
from chat_backend.db.revision_checksums import TABLE as CHECKSUM_TABLE

# The migrator's own bookkeeping changes in every revision: not the revision's doing.
BOOKKEEPING = frozenset(
    {"public.alembic_version", f"public.{CHECKSUM_TABLE}", f"public.{environment_marker.TABLE}"}
)
# User relations only: not the catalogs, not TOAST, not information_schema.
FILENODES = (
    "SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relfilenode "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_' "
    "AND c.relkind IN ('r', 'm')"
)
LOCKS = (
    "SELECT DISTINCT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), l.mode "
    "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_' "
    "AND l.pid = pg_backend_pid() AND l.granted AND c.relkind IN ('r', 'p', 'm')"
)
ROW_COUNTERS = (
    "SELECT quote_ident(schemaname) || '.' || quote_ident(relname), n_tup_ins, n_tup_upd, "
    "n_tup_del FROM pg_stat_xact_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
)
VERSION = "SELECT version_num FROM alembic_version ORDER BY 1"
# PostgreSQL's table lock modes, weakest first.
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
ACCESS_EXCLUSIVE = "AccessExclusiveLock"


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class RowChanges:
    inserted: int
    updated: int
    deleted: int


@dataclass
class Measured:
    """One committed revision."""

    seconds: float
    longest_statement: float
    locks: dict[str, str]  # table -> the strongest mode held
    rewritten: list[str]
    sizes: dict[str, TableSize]  # the rewritten and ACCESS EXCLUSIVE-locked tables
    rows: dict[str, RowChanges]


@dataclass
class Probe:
    """Listens on `connection`; `applied` collects each revision's measurement by id."""

    connection: Connection
    version: tuple[str, ...] = ()
    applied: dict[str, Measured] = field(default_factory=dict)
    _filenodes: dict[int, tuple[str, int]] = field(default_factory=dict)
    _began: float = 0.0
    _statement_began: float = 0.0
    _longest: float = 0.0

    def __post_init__(self) -> None:
        cursor = self._cursor()
        try:
            self.version = self._version(cursor)
            self._filenodes = self._read_filenodes(cursor)
        finally:
            cursor.close()
        self.connection.commit()
        for name, listener in (
            ("begin", self._on_begin),
            ("before_cursor_execute", self._on_statement),
            ("after_cursor_execute", self._on_statement_end),
            ("commit", self._on_commit),
        ):
            event.listen(self.connection, name, listener)

    def elapsed(self) -> float:
        """Seconds since the current transaction began (for a revision that failed)."""
        return time.perf_counter() - self._began

    def _on_begin(self, _connection: Connection) -> None:
        self._began, self._longest = time.perf_counter(), 0.0

    def _on_statement(self, *_args: Any) -> None:
        self._statement_began = time.perf_counter()

    def _on_statement_end(self, *_args: Any) -> None:
        self._longest = max(self._longest, time.perf_counter() - self._statement_began)

    def _on_commit(self, _connection: Connection) -> None:
        seconds = time.perf_counter() - self._began
        cursor = self._cursor()
        try:
            version = self._version(cursor)
            filenodes = self._read_filenodes(cursor)
            new = sorted(set(version) - set(self.version))
            if new:
                self.applied[new[0]] = self._measure(cursor, seconds, filenodes)
            self.version, self._filenodes = version, filenodes
        finally:
            cursor.close()

    def _measure(
        self, cursor: Any, seconds: float, filenodes: dict[int, tuple[str, int]]
    ) -> Measured:
        existing = self._filenodes
        rewritten = {
            oid: name
            for oid, (name, node) in filenodes.items()
            if oid in existing and existing[oid][1] != node and name not in BOOKKEEPING
        }
        cursor.execute(LOCKS)
        locks: dict[str, str] = {}
        locked: dict[int, str] = {}
        for oid, name, mode in cursor.fetchall():
            # A table made in this revision blocks nobody: no one else can see it yet.
            if name in BOOKKEEPING or oid not in existing:
                continue
            if MODES.index(mode) >= MODES.index(locks.get(name, MODES[0])):
                locks[name] = mode
            if mode == ACCESS_EXCLUSIVE:
                locked[oid] = name
        sizes = {
            name: self._size(cursor, oid, name) for oid, name in {**locked, **rewritten}.items()
        }
        return Measured(
            seconds=seconds,
            longest_statement=self._longest,
            locks=dict(sorted(locks.items())),
            rewritten=sorted(rewritten.values()),
            sizes=sizes,
            rows=self._row_changes(cursor),
        )

    def _row_changes(self, cursor: Any) -> dict[str, RowChanges]:
        cursor.execute(ROW_COUNTERS)
        return {
            name: RowChanges(int(ins), int(upd), int(dele))
            for name, ins, upd, dele in sorted(cursor.fetchall())
            if name not in BOOKKEEPING
        }

    @staticmethod
    def _size(cursor: Any, oid: int, name: str) -> TableSize:
        # The name comes from the catalog, already quoted by quote_ident.
        cursor.execute(f"SELECT count(*), pg_total_relation_size(%s) FROM {name}", (oid,))  # noqa: S608
        rows, size = cursor.fetchone()
        return TableSize(name, int(rows), int(size))

    @staticmethod
    def _version(cursor: Any) -> tuple[str, ...]:
        cursor.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return ()
        cursor.execute(VERSION)
        return tuple(str(row[0]) for row in cursor.fetchall())

    @staticmethod
    def _read_filenodes(cursor: Any) -> dict[int, tuple[str, int]]:
        cursor.execute(FILENODES)
        return {int(oid): (str(name), int(node)) for oid, name, node in cursor.fetchall()}

    def _cursor(self) -> Any:
        if not self.connection.in_transaction():
            self.connection.begin()  # so that SQLAlchemy knows of the transaction it opens
        return self.connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
