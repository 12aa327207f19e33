"""A `pg_dump --schema-only` script read as its entries: one per object pg_dump wrote, with
the kind, name and schema of its `-- Name: ...; Type: ...; Schema: ...` header and its SQL.

`make squash` keeps the entries a database at revision N has and an empty one does not (what
db/init made, such as the read-only role's schema grants, is left out), and derives the
statements that drop them again from the objects' kinds and names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = re.compile(r"^-- Name: (?P<name>.*); Type: (?P<kind>.*); Schema: (?P<schema>.*); Owner:")
# Session settings and psql meta-commands before the entries, and newer pg_dump's restrict
# tokens: none of it is an object.
NOISE = re.compile(r"--|SET |SELECT pg_catalog\.set_config\(|\\(un)?restrict ")
PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")
# Kinds dropped by name; the rest (indexes, constraints, comments, grants, defaults, sequence
# ownership) go with the object they belong to.
DROPPED = (
    "MATERIALIZED VIEW",
    "VIEW",
    "TABLE",
    "SEQUENCE",
    "FUNCTION",
    "PROCEDURE",
    "DOMAIN",
    "TYPE",
    "EXTENSION",
    "SCHEMA",
)


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    schema: str
    sql: str

    def drop(self) -> str | None:
        """The statement that drops this object with everything that depends on it; None for
        kinds that go with another object."""
        if self.kind not in DROPPED:
            return None
        if self.kind in {"EXTENSION", "SCHEMA"} or self.schema == "-":
            target = _quoted(self.name)
        elif self.kind in {"FUNCTION", "PROCEDURE"}:  # the name carries its argument types
            function, _, arguments = self.name.partition("(")
            target = f"{_quoted(self.schema)}.{_quoted(function)}({arguments}"
        else:
            target = f"{_quoted(self.schema)}.{_quoted(self.name)}"
        return f"DROP {self.kind} IF EXISTS {target} CASCADE"


def entries(dump: str) -> list[Entry]:
    """The entries of a plain-format pg_dump script, in its order (dependencies first)."""
    found: list[Entry] = []
    header: re.Match[str] | None = None
    lines: list[str] = []
    for line in [*dump.splitlines(), "-- Name: end; Type: end; Schema: -; Owner: -"]:
        matched = HEADER.match(line)
        if matched is None:
            if header is not None and not NOISE.match(line):
                lines.append(line.rstrip())
            continue
        if header is not None:
            found.append(
                Entry(header["kind"], header["name"], header["schema"], "\n".join(lines).strip())
            )
        header, lines = matched, []
    return found


def added(before: list[Entry], after: list[Entry]) -> list[Entry]:
    """The entries of `after` that `before` does not have, in `after`'s order."""
    present = set(before)
    return [entry for entry in after if entry not in present]


def _quoted(identifier: str) -> str:
    """The identifier as pg_dump would write it: bare when it can be, else double-quoted."""
    if PLAIN_IDENTIFIER.fullmatch(identifier):
        return identifier
    return '"' + identifier.replace('"', '""') + '"'
