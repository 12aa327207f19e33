"""SQLAlchemy Core statements compiled once for asyncpg, the driver the API's data routes run on.

The tables and statements stay defined once, in Core (models.py, api/); this compiles each
with SQLAlchemy's own asyncpg dialect, which renders `$n` placeholders with the casts asyncpg
needs (`$1::UUID`), and keeps the order in which named parameters become positional ones.
A statement built per request is compiled per request (`compiled`); the busy ones are built
with `bindparam` and compiled at import (`Statement`).

No SQLAlchemy type processing runs: asyncpg encodes and decodes the schema's types itself
(uuid, integer, text, timestamptz), and JSON and JSONB through the codec db/api_pool.py
registers on each connection, so a JSONB parameter is the Python value, not its text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Statement:
    """`statement` as asyncpg runs it: its SQL, and its named parameters in `$n` order."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Values bound in the statement itself (`column == 5`), for the names not passed.
        self._bound = compiled.params

    def args(self, parameters: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The positional arguments for `parameters` (a KeyError names one missing)."""
        given = parameters or {}
        return [given[name] if name in given else self._bound[name] for name in self.names]


def compiled(statement: ClauseElement) -> tuple[str, Sequence[Any]]:
    """The SQL and arguments of a statement built with its values in it (per request)."""
    once = Statement(statement)
    return once.sql, once.args()
