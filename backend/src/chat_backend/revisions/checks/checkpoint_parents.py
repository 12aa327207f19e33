"""No revision builds on a squashed one: after `make squash upto=300`, a branch's revision
with `down_revision = "150"` names a file that is gone, and Alembic cannot even read the
history (it stops with a KeyError). Read from the files' source (db/checkpoints, where the
migrator refuses the same revisions in the same words), before Alembic reads them."""

from __future__ import annotations

from pathlib import Path

from chat_backend.db.checkpoints import squashed_parents
from chat_backend.revisions.checks.failure import Failure


def check_checkpoint_parents(versions_dir: Path) -> list[Failure]:
    return [
        Failure(found.where, found.rule, found.problem, found.fix)
        for found in squashed_parents(versions_dir)
    ]
