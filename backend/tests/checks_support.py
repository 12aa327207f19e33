"""A copy of the migration files, for the gate's tests to break on purpose (never the real
tree): alembic.ini, migrations/, the squawk files and db/schema.sql, laid out as in the
repository."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from sqlalchemy import URL

from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import ALEMBIC_INI, BACKEND_DIR, write_revision

REAL = MigrationLayout.at(ALEMBIC_INI)


def copy_project(root: Path) -> MigrationLayout:
    backend = root / "backend"
    shutil.copytree(
        BACKEND_DIR / "migrations",
        backend / "migrations",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("alembic.ini", ".squawk.toml", "squawk-baseline.txt"):
        shutil.copy2(BACKEND_DIR / name, backend / name)
    (root / "db").mkdir()
    shutil.copy2(REAL.schema_sql, root / "db" / "schema.sql")
    return MigrationLayout.at(backend / "alembic.ini")


def add_revision(
    layout: MigrationLayout,
    file_name: str,
    *,
    revision: str,
    down_revision: str | tuple[str, ...] | None,
    upgrade: str = "pass",
    downgrade: str = "pass",
) -> Path:
    return write_revision(
        layout.versions_dir,
        file_name,
        revision=revision,
        down_revision=down_revision,
        upgrade=upgrade,
        downgrade=downgrade,
    )


def given(url: URL) -> Callable[[], AbstractContextManager[URL]]:
    """The gate's `database`: one the test already has, instead of a throwaway one."""
    return lambda: nullcontext(url)
