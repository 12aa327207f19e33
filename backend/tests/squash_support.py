"""What the squash tests share: a git repository made of a copy of the project, generated
revisions (each a table with an index, like a typical feature's first migration) with the
models that match them, and the schema dump that proves two databases equal."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.revisions.checks.schema_dump import normalize, pg_dump
from chat_backend.revisions.database_init import initialize
from chat_backend.revisions.head_file import head_file
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import HEAD

REVISION = '''"""bench {number}"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bench_{number}",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_index("ix_bench_{number}_name", "bench_{number}", ["name"])


def downgrade() -> None:
    op.drop_table("bench_{number}")
'''
# The same tables as models, so that the drift check of `make check` passes on the copy.
MODEL = """
Table(
    "bench_{number}",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Index("ix_bench_{number}_name", "name"),
)
"""
FIRST = int(HEAD) + 1
VERSION = "SELECT string_agg(version_num, ',') FROM alembic_version"


def revision_id(number: int) -> str:
    return f"{number:03d}"


def add_revisions(versions_dir: Path, count: int) -> list[Path]:
    """`count` revisions after the project's head, each a table with an index (versions/HEAD
    then names the last, as `make revision` keeps it)."""
    written = []
    for number in range(FIRST, FIRST + count):
        path = versions_dir / f"{revision_id(number)}_bench_{number}.py"
        path.write_text(
            REVISION.format(
                number=number,
                revision=revision_id(number),
                down_revision=revision_id(number - 1),
            )
        )
        written.append(path)
    if head_file(versions_dir).exists():
        lines = head_file(versions_dir).read_text().splitlines(keepends=True)
        kept = [line for line in lines if line.startswith("#")]
        head_file(versions_dir).write_text("".join(kept) + f"{written[-1].name}\n")
    return written


def add_models(models_py: Path, count: int) -> None:
    tables = "".join(MODEL.format(number=n) for n in range(FIRST, FIRST + count))
    models_py.write_text(models_py.read_text() + tables)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "Test")
        monkeypatch.setenv(f"{variable}_EMAIL", "test@example.com")


def dump(url: URL) -> str:
    """The schema with its grants, as `make squash` compares it."""
    return normalize(pg_dump(url, privileges=True))


def scalar(url: URL, query: str) -> object:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        value = connection.scalar(text(query))
    engine.dispose()
    return value


@dataclass
class Migrated:
    """A database of the test server with db/init run on it, as a stack volume has it."""

    layout: MigrationLayout
    url: URL

    @classmethod
    def at(cls, layout: MigrationLayout, url: URL, revision: str) -> Migrated:
        initialize(layout, url)
        command.upgrade(layout.config(url), revision)
        return cls(layout, url)
