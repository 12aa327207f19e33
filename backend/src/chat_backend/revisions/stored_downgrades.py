"""What a stored downgrade() drops, read from its source without running it (`make plan`).

A phantom's source comes from the database, so it is untrusted input: it may run only when
the migrator proves it wrote it. Reading it is safe: its syntax tree is walked for the
`op.drop_table(...)` and `op.drop_column(...)` calls with literal names, and the database is
asked (read-only, names quoted) how much those tables and columns hold now. What the function
does any other way (`op.execute`, computed names, a loop) is known only by running it; the
report says so.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from sqlalchemy import Connection, text

FOUND_HOW = (
    "read from each stored downgrade()'s op.drop_table/op.drop_column calls, without running "
    "it; whatever else it does (op.execute, computed names) is known only by running it"
)
COLUMN_EXISTS = text(
    "SELECT count(*) FROM information_schema.columns "
    "WHERE table_schema = :schema AND table_name = :table AND column_name = :column"
)


@dataclass(frozen=True)
class Drop:
    """A table (column None) or a column the downgrade drops, and what it holds now: rows, or
    non-null values (None: it does not exist in the database)."""

    table: str
    column: str | None
    schema: str
    holds: int | None = None

    @property
    def unit(self) -> str:
        return "rows" if self.column is None else "non-null values"

    def __str__(self) -> str:
        name = self.table if self.schema == "public" else f"{self.schema}.{self.table}"
        what = f"table {name}" if self.column is None else f"column {name}.{self.column}"
        unit = self.unit.removesuffix("s") if self.holds == 1 else self.unit
        held = "not in the database" if self.holds is None else f"{self.holds} {unit}"
        return f"{what} ({held})"


def drops(source: str, filename: str) -> list[Drop]:
    """The literal drop_table/drop_column calls of `source`'s downgrade(), in order."""
    tree = ast.parse(source, filename)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "downgrade"]
    found = []
    for node in (inner for function in functions for inner in ast.walk(function)):
        if isinstance(node, ast.Call):
            drop = _drop(node)
            if drop is not None:
                found.append(drop)
    return found


def counted(connection: Connection, drop: Drop) -> Drop:
    """`drop` with what its table or column holds now."""
    quote = connection.dialect.identifier_preparer.quote_identifier
    qualified = f"{quote(drop.schema)}.{quote(drop.table)}"
    exists = connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": qualified})
    if drop.column is not None and exists:
        names = {"schema": drop.schema, "table": drop.table, "column": drop.column}
        exists = bool(connection.scalar(COLUMN_EXISTS, names))
    if not exists:
        return drop
    counts = "*" if drop.column is None else quote(drop.column)
    # Identifiers quoted by the dialect; the statement only reads.
    holds = connection.scalar(text(f"SELECT count({counts}) FROM {qualified}"))  # noqa: S608
    return Drop(drop.table, drop.column, drop.schema, int(holds or 0))


def _drop(call: ast.Call) -> Drop | None:
    function = call.func
    if not (
        isinstance(function, ast.Attribute)
        and isinstance(function.value, ast.Name)
        and function.value.id == "op"
        and function.attr in {"drop_table", "drop_column"}
    ):
        return None
    names = ("table_name", "column_name") if function.attr == "drop_column" else ("table_name",)
    values = [_literal(call, position, name) for position, name in enumerate(names)]
    schema = _keyword(call, "schema") or "public"
    if any(value is None for value in values):
        return None
    table, *column = values
    assert table is not None
    return Drop(table, column[0] if column else None, schema)


def _literal(call: ast.Call, position: int, keyword: str) -> str | None:
    if position < len(call.args):
        node = call.args[position]
        return (
            node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
        )
    return _keyword(call, keyword)


def _keyword(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            value = keyword.value.value
            return value if isinstance(value, str) else None
    return None
