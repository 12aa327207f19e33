"""Checkpoints: one revision that builds an older revision's schema in one step (`make squash`).

A checkpoint keeps the id of the revision it folds in (say 300), has no parent, and says what
it replaced in three assignments, read here from its source without importing it:

- `checkpoint_replaces`: the ids of the revisions it replaces, itself included ("001 002 ...");
- `checkpoint_commit`: the commit that still has their files;
- `checkpoint_sha256`: the sha256 of the replaced file of its own id, so that a database that
  ran that file is not reported as having run an edited revision (revision_checksums).

A database at a replaced revision below the checkpoint has no way forward in this checkout:
the migrator refuses in one line naming the commit to migrate with first, or `make reset`.
A revision file that still builds on a squashed revision (a branch that left main before the
squash) names a parent whose file is gone, and Alembic cannot read the history at all (a
KeyError): the migrator and the commands that read the history refuse first, in the line
`make check` says (`squashed_parents`).
Going down through a checkpoint would drop every table it made: its downgrade() refuses unless
the caller allowed it (`allow_dropping`: the rollback guard with FORCE=1, after the local
database guard, and the gate's stairway on its throwaway database).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic import op
from alembic.config import Config
from alembic.script import ScriptDirectory

from chat_backend.config import exit_with_problems
from chat_backend.db.revision_ids import (
    declared_down_revision,
    parent_ids,
    revision_files,
)
from chat_backend.exit_codes import FAILED

# Set in an Alembic config's attributes by the one caller that may drop a checkpoint's tables.
DROP_ALLOWED = "chat_backend.checkpoint_drop_allowed"
NAMES = ("revision", "checkpoint_replaces", "checkpoint_commit", "checkpoint_sha256")


@dataclass(frozen=True)
class Checkpoint:
    revision: str
    path: Path
    replaces: tuple[str, ...]
    commit: str
    sha256: str

    @classmethod
    def read(cls, path: Path) -> Checkpoint | None:
        """The checkpoint that `path` declares; None for an ordinary revision."""
        return cls.parse(path, path.read_text(encoding="utf-8"))

    @classmethod
    def parse(cls, path: Path, source: str) -> Checkpoint | None:
        if "checkpoint_replaces" not in source:  # the usual case, without parsing
            return None
        values = _assignments(source, str(path))
        replaces = values.get("checkpoint_replaces")
        revision = values.get("revision")
        if not isinstance(replaces, str) or not isinstance(revision, str):
            return None
        return cls(
            revision,
            path,
            tuple(replaces.split()),
            str(values.get("checkpoint_commit") or ""),
            str(values.get("checkpoint_sha256") or ""),
        )

    def squashed(self, revision: str) -> bool:
        """Whether `revision` is one of the replaced revisions below the checkpoint."""
        return revision != self.revision and revision in self.replaces

    def refusal(self, at: str) -> str:
        first = self.replaces[0] if self.replaces else "base"
        return (
            f"the database is at {at}, before checkpoint {self.revision} (revisions {first} "
            f"to {self.revision} were squashed into it, {self.path.name}), so nothing was "
            f"changed: run `git checkout {self.commit[:12]} && make migrate` first, then come "
            "back to this checkout, or `make reset`"
        )


@dataclass(frozen=True)
class SquashedParent:
    """A revision file whose down_revision a checkpoint replaced (its file is gone)."""

    path: Path
    parents: tuple[str, ...]
    checkpoint: Checkpoint

    rule = "builds-on-squashed-revision"
    fix = (
        "run `make renumber BASE=main` (after merging main) to move this branch's revisions "
        "after the checkpoint"
    )

    @property
    def where(self) -> str:
        return f"revision {self.path.name.split('_', 1)[0]} ({self.path.name})"

    @property
    def problem(self) -> str:
        return (
            f"its down_revision {', '.join(self.parents)} was squashed into checkpoint "
            f"{self.checkpoint.revision} ({self.checkpoint.path.name}), so its file is gone"
        )

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.problem}; {self.fix}"


def checkpoints(versions_dir: Path) -> list[Checkpoint]:
    """Every checkpoint among the revision files of `versions_dir`."""
    found = (Checkpoint.read(path) for path in revision_files(versions_dir))
    return [checkpoint for checkpoint in found if checkpoint is not None]


def below_checkpoint(versions_dir: Path, revisions: Iterable[str]) -> str | None:
    """One line refusing a database at one of `revisions` (newest first) that a checkpoint
    squashed; None when none was."""
    wanted = list(revisions)
    for checkpoint in checkpoints(versions_dir):
        at = next((revision for revision in wanted if checkpoint.squashed(revision)), None)
        if at is not None:
            return checkpoint.refusal(at)
    return None


def squashed_parents(versions_dir: Path) -> list[SquashedParent]:
    """Each revision file that builds on a revision a checkpoint squashed, read from the
    files' source (Alembic cannot read such a history); none without a checkpoint."""
    found = checkpoints(versions_dir)
    if not found:
        return []
    squashed = []
    for path in revision_files(versions_dir):
        parents = parent_ids(declared_down_revision(path.read_text(encoding="utf-8"), str(path)))
        for checkpoint in found:
            gone = tuple(parent for parent in parents if checkpoint.squashed(parent))
            if gone:
                squashed.append(SquashedParent(path, gone, checkpoint))
    return squashed


def refuse_squashed_parents(script: ScriptDirectory, *, code: int = FAILED) -> None:
    """For env.py and the commands that read the history, before Alembic reads it: exit
    `code` with one line per revision that builds on a squashed one (nothing is changed)."""
    found = squashed_parents(Path(script.versions))
    if found:
        exit_with_problems([str(squashed) for squashed in found], code=code)


def accepts(path: Path, recorded_sha256: str) -> bool:
    """Whether a database that recorded `recorded_sha256` for this file's revision ran the
    file the checkpoint at `path` replaced (so it is not an edited revision)."""
    checkpoint = Checkpoint.read(path)
    return checkpoint is not None and checkpoint.sha256 == recorded_sha256


def allow_dropping(config: Config) -> None:
    """Let a checkpoint's downgrade() drop its tables in commands run with `config`. Only for
    a caller that has passed the local database guard (or runs on a throwaway database)."""
    config.attributes[DROP_ALLOWED] = True


def downgrade(revision: str, drops: Sequence[str]) -> None:
    """A checkpoint's downgrade(): drop what it made, when allowed; else exit 1 in one line,
    inside the revision's transaction, which is rolled back (nothing changed)."""
    config = op.get_context().config
    if config is None or not config.attributes.get(DROP_ALLOWED):
        exit_with_problems(
            [
                f"revision {revision} is a checkpoint (`make squash`): below it there is no "
                "revision to go back to, and going down drops every table; nothing was "
                f"changed. In development, `make rollback FORCE=1` does drop them all, or "
                "run `make reset`"
            ],
            code=1,
        )
    for statement in drops:
        op.execute(statement)


def _assignments(source: str, filename: str) -> dict[str, object]:
    """The literals assigned at the top level of `source` to the names a checkpoint declares
    (one parse: a checkpoint's source holds a whole schema)."""
    found: dict[str, object] = {}
    for node in ast.parse(source, filename).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in NAMES:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return found
