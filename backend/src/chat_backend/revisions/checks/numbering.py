"""Revision numbering: each revision id is declared once, by a file named after it.

Two branches that each add revision 004 produce two files declaring `revision = "004"`; Alembic
only warns and keeps one of them, so the other would silently never run. Read from the files'
source (not by importing them), so the duplicates are seen before Alembic hides one.
"""

from __future__ import annotations

from pathlib import Path

from chat_backend.db.revision_ids import declared_revision, duplicate_revision_ids, revision_files
from chat_backend.revisions.checks.failure import Failure, revision_label
from chat_backend.revisions.files import next_revision_id


def check_numbering(versions_dir: Path) -> list[Failure]:
    declared = {path: declared_revision(path) for path in revision_files(versions_dir)}
    return [
        *_undeclared(declared),
        *_duplicates(versions_dir, next_revision_id(versions_dir)),
        *_misnamed(declared),
    ]


def _undeclared(declared: dict[Path, str | None]) -> list[Failure]:
    return [
        Failure(
            f"file {path.name}",
            "revision-id",
            "declares no revision id",
            'add revision: str = "<id>" (make revision m="..." writes it for you)',
        )
        for path, revision in declared.items()
        if revision is None
    ]


def _duplicates(versions_dir: Path, next_id: str) -> list[Failure]:
    return [
        Failure(
            revision_label(revision, *paths),
            "duplicate-revision-id",
            f"{len(paths)} files declare revision = {revision!r}, so Alembic runs only one",
            f"run `make renumber` (after merging the base branch: this branch's revisions "
            f"follow its head), or renumber the newer one to {next_id!r} by hand: rename its "
            f"file to {next_id}_<slug>.py, set revision = {next_id!r} and down_revision to the "
            "head it follows",
        )
        for revision, paths in duplicate_revision_ids(versions_dir).items()
    ]


def _misnamed(declared: dict[Path, str | None]) -> list[Failure]:
    """A file number that differs from its revision id: a half-done renumbering, or two files
    with one number (only one of them can match)."""
    return [
        Failure(
            revision_label(revision, path),
            "file-name-matches-revision",
            f"the file name does not start with its revision id {revision!r}",
            f"rename it to {revision}_<slug>.py",
        )
        for path, revision in declared.items()
        if revision is not None and not path.name.startswith(f"{revision}_")
    ]
