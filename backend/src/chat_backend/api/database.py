"""The data routes' access to the database: the worker's asyncpg pool (db/api_pool.py), opened
by the app's lifespan, and one call per statement, each on a connection of its own for just
that statement (every connection is autocommit, so each statement is its own transaction).

Requests get connections in the order they ask: a fair semaphore (asyncio's hands a released
turn to its first waiter) admits as many requests as the pool has connections. asyncpg's pool
alone is not fair: a connection handed back wakes the first waiter, but a request arriving
before that waiter runs takes the connection, and the waiter queues again at the back
(MagicStack/asyncpg#1247). Under load, the requests overtaken again and again were the API's
slowest percent (tests/test_api_connection_turns.py; README, the API bench).
"""

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
        self._turns = asyncio.Semaphore(0)  # one per connection, once the pool is open

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the app's lifespan has not opened the database pool")
        return self._pool

    def open(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._turns = asyncio.Semaphore(pool.get_max_size())

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def row(
        self, statement: Statement, parameters: Mapping[str, Any] | None = None
    ) -> asyncpg.Record | None:
        """The first row of `statement`, or None."""
        connection = await self._acquire()
        try:
            row: asyncpg.Record | None = await connection.fetchrow(
                statement.sql, *statement.args(parameters)
            )
            return row
        finally:
            await self._release(connection)

    async def rows(
        self, statement: Statement, parameters: Mapping[str, Any] | None = None
    ) -> list[asyncpg.Record]:
        connection = await self._acquire()
        try:
            rows: list[asyncpg.Record] = await connection.fetch(
                statement.sql, *statement.args(parameters)
            )
            return rows
        finally:
            await self._release(connection)

    async def _acquire(self) -> PoolConnectionProxy:
        """A connection, after every request that asked before; a wait past ACQUIRE_TIMEOUT_S
        raises NoConnectionError.

        The timer is armed only when a request may wait: with a turn free and a connection
        idle, both are taken without waiting (connecting a closed one is bounded by the pool's
        own connect timeout), and a timer armed and cancelled on every request costs more
        than the query's own Python. asyncio.timeout, not acquire's `timeout=`: that runs the
        acquire in a task of its own (asyncio.wait_for).
        """
        pool = self.pool
        if not self._turns.locked() and pool.get_idle_size():
            return await self._connection_in_turn(pool)
        try:
            async with asyncio.timeout(ACQUIRE_TIMEOUT_S):
                return await self._connection_in_turn(pool)
        except TimeoutError:
            raise NoConnectionError from None

    async def _connection_in_turn(self, pool: asyncpg.Pool) -> PoolConnectionProxy:
        await self._turns.acquire()
        try:
            return await pool.acquire()
        except BaseException:
            self._turns.release()
            raise

    async def _release(self, connection: PoolConnectionProxy) -> None:
        # The turn is passed on once the connection is back in the pool, so the next request
        # finds it there.
        try:
            await self.pool.release(connection)
        finally:
            self._turns.release()
