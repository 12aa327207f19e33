"""Applied revisions unchanged: no revision file was edited after a database applied it.

Editing an applied revision changes nothing in the databases that ran it, so they silently
differ from a database built from scratch. revision_checksums records what each one ran.
"""

from __future__ import annotations

from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool

from chat_backend.db.revision_checksums import EditedRevision, edited_revisions
from chat_backend.revisions.checks.failure import Failure
from chat_backend.revisions.layout import MigrationLayout


def check_applied(layout: MigrationLayout, url: URL) -> list[Failure]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        edited = edited_revisions(connection, layout.script())
    return [_failure(revision) for revision in edited]


def _failure(edited: EditedRevision) -> Failure:
    return Failure(edited.where, edited.rule, edited.problem, edited.fix)
