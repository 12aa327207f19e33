"""The data routes' access to the database: the worker's asyncpg pool (db/api_pool.py), opened
by the app's lifespan, and one call per statement, each on a connection of its own for just
that statement (every connection is autocommit, so each statement is its own transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg

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
        async with self._connection() as connection:
            row: asyncpg.Record | None = await connection.fetchrow(
                statement.sql, *statement.args(parameters)
            )
            return row

    async def rows(
        self, statement: Statement, parameters: Mapping[str, Any] | None = None
    ) -> list[asyncpg.Record]:
        async with self._connection() as connection:
            rows: list[asyncpg.Record] = await connection.fetch(
                statement.sql, *statement.args(parameters)
            )
            return rows

    def _connection(self) -> Any:
        return _Acquired(self.pool)


class _Acquired:
    """`pool.acquire`, with a wait past ACQUIRE_TIMEOUT_S raised as NoConnectionError."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._connection: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        # asyncio.timeout, not acquire's own `timeout=`: that runs the acquire in a task of
        # its own (asyncio.wait_for), a cost on every request.
        try:
            async with asyncio.timeout(ACQUIRE_TIMEOUT_S):
                self._connection = await self._pool.acquire()
        except TimeoutError:
            raise NoConnectionError from None
        return self._connection  # type: ignore[no-any-return]

    async def __aexit__(self, *_: object) -> None:
        await self._pool.release(self._connection)
