"""`make renumber`: after merging the base branch, move this branch's revisions after its head.

Two branches that each added `004` leave two files declaring it once merged; the migrator then
refuses to run. The revisions this branch added (git: files added since the merge base with
BASE) get the numbers after the base branch's head, in their order: file name, `revision`,
`down_revision` and the docstring's "Revision ID" / "Revises" lines. The renamed files are
staged, so a second run finds nothing to do.

It also works half-way through `git merge main`, stopped on the conflict in versions/HEAD
(head_file) that two such branches meet: the base's files are in the work tree then, but not
this branch's, and the HEAD file is left for the caller to rewrite.

The local database comes first: a revision it applied under a number this branch gives up
(same id, same checksum as this branch's file) is rolled back from its stored source after a
snapshot (db/stored_revisions), so `make migrate` then applies both sides, each once. Nothing is
renamed unless that worked.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from chat_backend.config import Settings
from chat_backend.db.revision_checksums import checksums
from chat_backend.db.stored_revisions import (
    Rollback,
    StoredRevision,
    database_heads,
    rollback_refusal,
    rolled_back,
    source_key,
    stored_sources,
)
from chat_backend.revisions.branch_revisions import Repository, RevisionFile
from chat_backend.revisions.files import WIDTH
from chat_backend.revisions.head_file import NAME as HEAD_FILE


class RenumberError(ValueError):
    """Renumbering cannot go ahead; the message is one line with the fix."""


@dataclass(frozen=True)
class Move:
    file: RevisionFile
    revision: str
    down_revision: str

    @property
    def path(self) -> Path:
        slug = self.file.path.name.split("_", 1)[1] if "_" in self.file.path.name else "revision.py"
        return self.file.path.with_name(f"{self.revision}_{slug}")

    @property
    def unchanged(self) -> bool:
        return (self.file.revision, self.file.down_revision, self.file.path) == (
            self.revision,
            self.down_revision,
            self.path,
        )

    def source(self) -> str:
        """The file's source with its new number and parent; checked before anything is
        written."""
        old, old_down = self.file.revision, self.file.down_revision
        source = _replace_assignment(self.file.source, "revision", old, self.revision)
        source = _replace_line(source, "Revision ID: ", old, self.revision)
        if isinstance(old_down, str):
            source = _replace_assignment(source, "down_revision", old_down, self.down_revision)
            source = _replace_line(source, "Revises: ", old_down, self.down_revision)
        parsed = RevisionFile.parse(self.path, source) or self.file
        if (parsed.revision, parsed.down_revision) != (self.revision, self.down_revision):
            raise RenumberError(
                f"{self.file.path.name}: could not rewrite its revision and down_revision "
                f"assignments; set revision = {self.revision!r} and down_revision = "
                f"{self.down_revision!r} by hand and rename it to {self.path.name}"
            )
        return source


def plan(repository: Repository, base: str) -> list[Move]:
    """This branch's revisions with their new numbers, oldest first; [] when in place."""
    # A conflict in the HEAD file is what this run resolves (the caller rewrites it).
    stray = [name for name in repository.uncommitted() if Path(name).name != HEAD_FILE]
    if stray:
        raise RenumberError(
            f"revision files have uncommitted changes ({', '.join(stray)}): commit or stash "
            "them, then run `make renumber` again"
        )
    merge_base = repository.merge_base(base)
    theirs = repository.revisions_at(base)
    # Mid-merge, HEAD is still this branch's tip, so the base's files count as added too.
    from_base = {file.path.name for file in theirs}
    ours = _in_order(
        [file for file in repository.added_since(merge_base) if file.path.name not in from_base]
    )
    head = _single_head(theirs, base)
    numbers = [int(file.revision) for file in theirs if file.revision.isdigit()]
    next_number = max(numbers, default=0) + 1
    moves, parent = [], head
    for offset, file in enumerate(ours):
        revision = f"{next_number + offset:0{WIDTH}d}"
        moves.append(Move(file, revision, parent))
        parent = revision
    return [] if all(move.unchanged for move in moves) else moves


def bring_database_along(settings: Settings, moves: list[Move]) -> None:
    """Roll back what the local database applied under a number a move gives up."""
    leaving = {
        move.file.revision: hashlib.sha256(move.file.source.encode()).hexdigest()
        for move in moves
        if move.file.revision != move.revision
    }
    with rolled_back(
        None,
        settings,
        Rollback(
            find=lambda connection: _applied_under(connection, leaving, source_key(settings)),
            refuse=lambda found: rollback_refusal(
                found,
                f"the local database applied revision {', '.join(s.revision for s in found)} "
                "under the number it is leaving",
                "roll it back on the branch before renumbering (`make rollback`), or `make reset`",
            ),
            label="revision {} (applied under the number it is leaving)",
            snapshot_label="renumber",
        ),
    ):
        pass


def apply(repository: Repository, moves: list[Move]) -> None:
    """Rename and rewrite the files (newest first, so no new name meets an old one), staged."""
    sources = {move.path: move.source() for move in moves}
    for move in reversed(moves):
        if move.path != move.file.path:
            repository.git("mv", move.file.path.name, move.path.name)
        move.path.write_text(sources[move.path], encoding="utf-8")
        repository.git("add", move.path.name)


def _applied_under(
    connection: Connection, leaving: dict[str, str], key: bytes | None
) -> list[StoredRevision]:
    """The database's revisions, newest first, down to the oldest it applied from a file this
    branch renumbers (same id and checksum)."""
    sources = stored_sources(connection, key)
    recorded = dict(connection.execute(select(checksums.c.revision, checksums.c.sha256)).all())
    chain: list[StoredRevision] = []
    heads = database_heads(connection)
    revision = heads[0] if len(heads) == 1 else None
    while revision is not None and revision in recorded:
        stored = sources.get(revision, StoredRevision(revision, None))
        chain.append(stored)
        revision = stored.parents[0] if len(stored.parents) == 1 else None
    moved = [
        i
        for i, stored in enumerate(chain)
        if recorded[stored.revision] == leaving.get(stored.revision)
    ]
    return chain[: moved[-1] + 1] if moved else []


def _in_order(files: list[RevisionFile]) -> list[RevisionFile]:
    """This branch's revisions as a line, oldest first (each follows the one before)."""
    by_parent = {file.down_revision: file for file in files if isinstance(file.down_revision, str)}
    ids = {file.revision for file in files}
    roots = [
        file
        for file in files
        if not (isinstance(file.down_revision, str) and file.down_revision in ids)
    ]
    if len(roots) > 1 or any(isinstance(file.down_revision, tuple) for file in files):
        names = ", ".join(sorted(file.path.name for file in files))
        raise RenumberError(
            f"this branch's revisions ({names}) are not one line, each after the one before: "
            "renumber them by hand"
        )
    ordered = roots[:1]
    while ordered and ordered[-1].revision in by_parent:
        ordered.append(by_parent[ordered[-1].revision])
    return ordered


def _single_head(files: list[RevisionFile], base: str) -> str:
    parents = {
        parent
        for file in files
        for parent in (
            file.down_revision if isinstance(file.down_revision, tuple) else (file.down_revision,)
        )
    }
    heads = sorted(file.revision for file in files if file.revision not in parents)
    if len(heads) != 1:
        raise RenumberError(
            f"BASE {base!r} has {len(heads)} heads ({', '.join(heads) or 'no revisions'}): "
            "renumber after a base branch with one head"
        )
    return heads[0]


def _replace_assignment(source: str, name: str, old: str, new: str) -> str:
    pattern = rf"^({name}\b[^=\n]*=\s*)([\"']){re.escape(old)}\2"
    return re.sub(pattern, rf"\g<1>\g<2>{new}\g<2>", source, count=1, flags=re.M)


def _replace_line(source: str, prefix: str, old: str, new: str) -> str:
    pattern = rf"^{re.escape(prefix)}{re.escape(old)}$"
    return re.sub(pattern, f"{prefix}{new}", source, count=1, flags=re.M)
