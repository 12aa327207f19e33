"""The data routes' access to the database: the worker's asyncpg pool (db/api_pool.py), opened
by the app's lifespan, and one call per statement, each on a connection of its own for just
that statement (every connection is autocommit, so each statement is its own transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from chat_backend.db.api_pool import ACQUIRE_TIMEOUT_S
from chat_backend.db.driver_statements import Statement


class NoConnectionError(Exception):
    """Every connection of the pool stayed busy for ACQUIRE_TIMEOUT_S (the error handlers
    answer 503 database_busy)."""


class Database:
    """The pool of one app: set by its lifespan, closed when it ends."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the app's lifespan has not opened the database pool")
        return self._pool

    def open(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def row(
        self, statement: Statement, parameters: Mapping[str, Any] | None = None
    ) -> asyncpg.Record | None:
        """The first row of `statement`, or None."""
        pool = self.pool
        connection = await acquire(pool)
        try:
            row: asyncpg.Record | None = await connection.fetchrow(
                statement.sql, *statement.args(parameters)
            )
            return row
        finally:
            await pool.release(connection)

    async def rows(
        self, statement: Statement, parameters: Mapping[str, Any] | None = None
    ) -> list[asyncpg.Record]:
        pool = self.pool
        connection = await acquire(pool)
        try:
            rows: list[asyncpg.Record] = await connection.fetch(
                statement.sql, *statement.args(parameters)
            )
            return rows
        finally:
            await pool.release(connection)


async def acquire(pool: asyncpg.Pool) -> PoolConnectionProxy:
    """A connection of `pool`; a wait for one past ACQUIRE_TIMEOUT_S raises NoConnectionError.

    The timer is armed only when no connection is idle: with one idle, the acquire takes it
    without waiting for a release (connecting a closed one is bounded by the pool's own
    connect timeout), and a timer armed and cancelled on every request costs more than the
    query's own Python. asyncio.timeout, not acquire's `timeout=`: that runs the acquire in a
    task of its own (asyncio.wait_for).
    """
    try:
        if pool.get_idle_size():
            return await pool.acquire()
        async with asyncio.timeout(ACQUIRE_TIMEOUT_S):
            return await pool.acquire()
    except TimeoutError:
        raise NoConnectionError from None
