"""No revision builds on a squashed one: after `make squash upto=300`, a branch's revision
with `down_revision = "150"` names a file that is gone, and Alembic cannot even read the
history (it stops with a KeyError). Read from the files' source, before Alembic reads them."""

from __future__ import annotations

from pathlib import Path

from chat_backend.db.checkpoints import checkpoints
from chat_backend.db.revision_ids import declared_down_revision, revision_files
from chat_backend.revisions.checks.failure import Failure, revision_label

FIX = (
    "run `make renumber BASE=main` (after merging main) to move this branch's revisions after "
    "the checkpoint"
)


def check_checkpoint_parents(versions_dir: Path) -> list[Failure]:
    found = checkpoints(versions_dir)
    if not found:
        return []
    failures = []
    for path in revision_files(versions_dir):
        down = declared_down_revision(path.read_text(encoding="utf-8"), str(path))
        parents = down if isinstance(down, tuple) else (down,) if down else ()
        for checkpoint in found:
            squashed = [parent for parent in parents if checkpoint.squashed(parent)]
            if squashed:
                failures.append(_failure(path, squashed, checkpoint.revision, checkpoint.path))
    return failures


def _failure(path: Path, squashed: list[str], checkpoint: str, checkpoint_path: Path) -> Failure:
    return Failure(
        revision_label(path.name.split("_", 1)[0], path),
        "builds-on-squashed-revision",
        f"its down_revision {', '.join(squashed)} was squashed into checkpoint {checkpoint} "
        f"({checkpoint_path.name}), so its file is gone",
        FIX,
    )
