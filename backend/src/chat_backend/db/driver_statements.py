"""Statements built with SQLAlchemy Core, compiled once, and run on the driver's own cursor:
the API's busiest routes, where SQLAlchemy's per-execution work cost more than the query.

Measured on GET /chats/{id} (a primary-key SELECT): `Connection.execute` took about 60 µs of
Python per call beyond the driver's own (cache key, execution context, result processing),
as much as the round trip, and under load that work competes for the GIL with the event
loop. In the API bench the route went from 0.72-0.76 times a minimal FastAPI app's
throughput to 0.86-0.96 times with this and the route order (api/application.py).

Only the execution moves: the statement is still Core (one definition of the tables), its
parameters and columns pass through the same type processors `execute` would apply, a
failure comes out as the same SQLAlchemy exception class (so the API's error handlers answer
it as before), and a connection the dialect judges dead is invalidated with the rest of the
pool, as `execute` does, so the request after a database restart gets a new connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

Processor = Callable[[Any], Any]


class DriverStatement:
    """`statement` compiled for `engine`'s dialect, run on one pooled connection per call.

    For single statements on an autocommit engine (the API's): each call is its own
    transaction, as `engine.connect()` + `execute` would make it.
    """

    def __init__(self, engine: Engine, statement: Select[Any] | UpdateBase) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._engine = engine
        self._sql = compiled.string
        self._bind_processors: dict[str, Processor] = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        columns = list(statement.exported_columns)
        self._keys = tuple(str(column.key) for column in columns)
        # The dialect's own variant of each type, as `execute` uses (psycopg2 decodes JSON
        # itself, for one).
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self._result_processors = tuple(processors) if any(processors) else None

    def first(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a dict of the statement's column keys, or None for no row."""
        values = {
            name: processor(value) if (processor := self._bind_processors.get(name)) else value
            for name, value in parameters.items()
        }
        connection = self._engine.raw_connection()
        try:
            row = self._fetch_first(connection, values)
        finally:
            connection.close()  # back to the pool (or, once invalidated, discarded)
        if row is None:
            return None
        if self._result_processors is not None:
            row = tuple(
                processor(value) if processor else value
                for processor, value in zip(self._result_processors, row, strict=True)
            )
        return dict(zip(self._keys, row, strict=True))

    def _fetch_first(
        self, connection: PoolProxiedConnection, values: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        dialect = self._engine.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        cursor = connection.cursor()
        try:
            cursor.execute(self._sql, values)
            row: tuple[Any, ...] | None = cursor.fetchone()
        except dbapi_error as error:
            dead = dialect.is_disconnect(error, connection.dbapi_connection, cursor)
            if dead:
                connection.invalidate(error)
                # Every other pooled connection went with the server: replace them all now
                # rather than fail one request per dead connection.
                self._engine.dispose()
            raise DBAPIError.instance(
                self._sql,
                values,
                error,
                dbapi_error,
                hide_parameters=self._engine.hide_parameters,
                connection_invalidated=dead,
                dialect=dialect,
            ) from error
        finally:
            cursor.close()
        return row
