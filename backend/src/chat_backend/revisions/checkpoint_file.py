"""The source of a checkpoint revision (`make squash`): the schema a database at revision N
has, as pg_dump wrote it, run in one step, and what db/checkpoints reads back from it.

The SQL goes to `op.execute` as one text: one round trip however many tables there are. A
colon before a word would read as a bind parameter there, so it is escaped (`\\:`), as
SQLAlchemy's text() documents.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

from chat_backend.revisions.dump_entries import Entry

# text()'s own pattern of a bind parameter (sqlalchemy.sql.elements.TextClause).
BIND_PARAMETER = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
IDS_PER_LINE = 14

TEMPLATE = '''\
"""checkpoint: revisions {first} to {revision} in one step

Revision ID: {revision}
Revises:
Create Date: {created}

Written by `make squash upto={revision}` from a database migrated to {revision} (pg_dump
--schema-only, with grants): a database built from it has the same schema dump as one that ran
the revisions, which the squash proved before writing it. The revision files it replaces are
in commit {commit}:
    git show {commit}:backend/migrations/versions/
A database below {revision} cannot upgrade from here: check that commit out and run
`make migrate` first, or `make reset`.
"""

# pg_dump's SQL lines are as long as they are.
# ruff: noqa: E501

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chat_backend.db import checkpoints

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What db/checkpoints reads (without importing this file): the revisions replaced, the commit
# that has them, and the sha256 of the replaced {revision}'s file (a database that ran it is
# not told that its revision {revision} was edited).
checkpoint_replaces: str = (
{replaces}
)
checkpoint_commit: str = "{commit}"
checkpoint_sha256: str = "{sha256}"

SCHEMA = r"""
{schema}
"""

# What downgrade() drops, newest first, when it is allowed to (db/checkpoints.downgrade).
DROPS: tuple[str, ...] = (
{drops}
)


def upgrade() -> None:
    op.execute(sa.text(SCHEMA))


def downgrade() -> None:
    checkpoints.downgrade(revision, DROPS)
'''


class CheckpointSourceError(ValueError):
    """The schema cannot be written into a revision file as it is; one line with why."""


@dataclass(frozen=True)
class CheckpointSource:
    revision: str
    replaces: list[str]  # oldest first, the checkpoint's own id last
    commit: str
    sha256: str
    schema: list[Entry]

    def render(self) -> str:
        sql = "\n\n".join(entry.sql for entry in self.schema if entry.sql)
        if '"""' in sql:
            raise CheckpointSourceError(
                f"the schema at {self.revision} has SQL that cannot sit in a Python raw string "
                '(it holds """): squash up to another revision'
            )
        drops = [d for d in (entry.drop() for entry in reversed(self.schema)) if d is not None]
        return TEMPLATE.format(
            first=self.replaces[0],
            revision=self.revision,
            created=f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}",
            commit=self.commit,
            sha256=self.sha256,
            replaces=_wrapped_ids(self.replaces),
            schema=BIND_PARAMETER.sub(r"\\:\1", sql),
            drops="".join(f"    {_literal(drop)},\n" for drop in drops).rstrip("\n"),
        )


def _wrapped_ids(ids: list[str]) -> str:
    lines = [" ".join(ids[i : i + IDS_PER_LINE]) for i in range(0, len(ids), IDS_PER_LINE)]
    last = len(lines) - 1
    return "\n".join(
        textwrap.indent(_literal(line + ("" if n == last else " ")), "    ")
        for n, line in enumerate(lines)
    )


def _literal(text: str) -> str:
    """A Python string literal, double-quoted unless the text holds double quotes (as ruff
    format writes it)."""
    if '"' in text or "\\" in text:
        return repr(text)
    return f'"{text}"'
