"""Revision files, numbered 001, 002, …: which exist, the next number, and writing new ones.

New files come from Alembic's own commands (`alembic revision --rev-id 004`, `alembic merge`),
so alembic.ini's file template (`004_add_email.py`) and post-write hook (ruff format) apply.
Each new file becomes the head that versions/HEAD names (head_file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import URL

from chat_backend.db.revision_ids import declared_revision, revision_files
from chat_backend.revisions.head_file import write_head_file
from chat_backend.revisions.layout import MigrationLayout

# Revision ids are zero-padded to this many digits: 001, 002, …
WIDTH = 3


def next_revision_id(versions_dir: Path) -> str:
    """The number after every revision id declared and every file number in use."""
    files = revision_files(versions_dir)
    taken = [
        *(declared_revision(path) or "" for path in files),
        *(path.name.split("_", 1)[0] for path in files),
    ]
    numbers = [int(number) for number in taken if number.isdigit()]
    return f"{max(numbers, default=0) + 1:0{WIDTH}d}"


def write_revision(config: Config, message: str) -> Path:
    written = _write(config, message, autogenerate=False)
    assert written is not None
    return written


def autogenerate_revision(layout: MigrationLayout, message: str, database_url: URL) -> Path | None:
    """Migrate the (empty, disposable) database to head, then write what the models add; None
    (and no file) when they add nothing."""
    config = layout.config(database_url)
    command.upgrade(config, "head")
    return _write(config, message, autogenerate=True)


def write_merge(config: Config, message: str) -> Path:
    """Join the heads with a merge revision that takes the next number."""
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) < 2:
        raise ValueError(f"nothing to merge: there is one head ({', '.join(heads)})")
    written = command.merge(
        config, "heads", message=message, rev_id=next_revision_id(_versions_dir(config))
    )
    assert written is not None
    write_head_file(ScriptDirectory.from_config(config))
    return Path(written.path)


def _write(config: Config, message: str, *, autogenerate: bool) -> Path | None:
    written = command.revision(
        config,
        message=message,
        autogenerate=autogenerate,
        rev_id=next_revision_id(_versions_dir(config)),
        process_revision_directives=_skip_empty_autogenerate if autogenerate else None,
    )
    if not isinstance(written, Script):
        return None
    write_head_file(ScriptDirectory.from_config(config))
    return Path(written.path)


def _versions_dir(config: Config) -> Path:
    return Path(ScriptDirectory.from_config(config).versions)


def _skip_empty_autogenerate(
    _context: MigrationContext, _revision: Any, directives: list[MigrationScript]
) -> None:
    # Alembic writes an empty revision when nothing changed; an empty file is only noise.
    if all(script.upgrade_ops is None or script.upgrade_ops.is_empty() for script in directives):
        directives.clear()
