"""Helpers for the local-database tests: a database name of a test's own (and everything named
after it dropped afterwards), and what a database holds, table by table."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.local_db.cluster import Cluster
from chat_backend.local_db.target import Target

_names = itertools.count()

# Every table's row count and a checksum of its rows (in a stable order).
TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
FINGERPRINT = (
    "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {} AS t"
)


@contextmanager
def own_database(server: Target) -> Iterator[Target]:
    """A target whose database name is this test's; it, its templates and snapshots are
    dropped afterwards."""
    target = replace(server, database=f"chat_local_{os.getpid()}_{next(_names)}")
    try:
        yield target
    finally:
        with Cluster.session(server) as cluster:
            for name in [target.database, *cluster.names(f"{target.database}_")]:
                cluster.drop(name)


def fingerprint(target: Target, database: str | None = None) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table of `database` (the target's by default)."""
    engine = create_engine(target.url(database or target.database), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = connection.scalars(text(TABLES)).all()
            return {
                table: tuple(connection.execute(text(FINGERPRINT.format(table))).one())
                for table in tables
            }
    finally:
        engine.dispose()


def query(
    target: Target, sql: str, database: str | None = None, **params: object
) -> list[tuple[object, ...]]:
    """Run `sql` (with :name parameters) in one transaction; its rows, if it returns any."""
    engine = create_engine(target.url(database or target.database), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()
