"""Applied revisions unchanged: no revision file was edited after a database applied it.

Editing an applied revision changes nothing in the databases that ran it, so they silently
differ from a database built from scratch. revision_checksums records what each one ran, and
the source it ran: each finding shows that source against the file as a unified diff. Read as
text only; nothing read from the database is run here.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from sqlalchemy import URL, Connection, create_engine, select
from sqlalchemy.pool import NullPool

from chat_backend.config import Settings
from chat_backend.db.connection_retry import connect
from chat_backend.db.revision_checksums import EditedRevision, checksums, edited_revisions
from chat_backend.revisions.checks.failure import Failure
from chat_backend.revisions.layout import MigrationLayout

NO_SOURCE = (
    "(no diff: the database applied it before it kept sources, so only its checksum is known)"
)


def check_applied(layout: MigrationLayout, url: URL) -> list[Failure]:
    """The gate's check, on its own database at `url`."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        return _edited(layout, connection)


def check_configured_database(layout: MigrationLayout, settings: Settings) -> list[Failure]:
    """`make applied`: the check on the database of the settings, reached as the migrator
    reaches it; raises connection_retry.DatabaseUnreachableError (one line naming the
    setting) when it cannot be."""
    engine = create_engine(settings.url, poolclass=NullPool)
    try:
        with connect(engine, settings) as connection:
            return _edited(layout, connection)
    finally:
        engine.dispose()


def _edited(layout: MigrationLayout, connection: Connection) -> list[Failure]:
    edited = edited_revisions(connection, layout.script())
    sources = _stored_sources(connection, [revision.revision for revision in edited])
    root = layout.backend_dir.parent
    return [_failure(revision, sources.get(revision.revision), root) for revision in edited]


def source_diff(edited: EditedRevision, stored: str | None, shown_as: str) -> str:
    """The stored source against the file now, as a unified diff."""
    if stored is None:
        return NO_SOURCE
    lines = difflib.unified_diff(
        stored.splitlines(keepends=True),
        edited.path.read_text(encoding="utf-8").splitlines(keepends=True),
        fromfile=f"revision {edited.revision} as the database applied it",
        tofile=shown_as,
    )
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in lines).rstrip("\n")


def _stored_sources(connection: Connection, revisions: list[str]) -> dict[str, str | None]:
    if not revisions:
        return {}
    rows = connection.execute(
        select(checksums.c.revision, checksums.c.source).where(checksums.c.revision.in_(revisions))
    )
    return {revision: source for revision, source in rows}


def _failure(edited: EditedRevision, stored: str | None, root: Path) -> Failure:
    path = edited.path
    shown_as = str(path.relative_to(root) if path.is_relative_to(root) else path)
    return Failure(
        edited.where,
        edited.rule,
        edited.problem,
        edited.fix,
        details=source_diff(edited, stored, shown_as),
    )
