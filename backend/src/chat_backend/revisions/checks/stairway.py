"""The stairway: every revision goes up, down and up again, oldest first, on an empty database.

A downgrade that forgets something makes the second upgrade fail; one that breaks makes the
first step down fail. Either way the revision cannot be rolled back in production.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory

from chat_backend.revisions.checks.failure import Failure, revision_label

FIX = (
    "make downgrade() undo exactly what upgrade() does, so that the revision can be rolled "
    "back and applied again"
)


def check_stairway(config: Config) -> list[Failure]:
    """Ends at head when it passes; stops at the first revision that fails."""
    script = ScriptDirectory.from_config(config)
    for revision in reversed(list(script.walk_revisions())):
        steps = [
            ("up", command.upgrade, revision.revision),
            ("down", command.downgrade, _one_step_down(revision)),
            ("up again", command.upgrade, revision.revision),
        ]
        for step, run, target in steps:
            try:
                run(config, target)
            # Anything a revision's code raises, and env.py's exit on a database error (it
            # has printed that error already).
            except (Exception, SystemExit) as error:
                return [_failure(revision, step, error)]
    return []


def _one_step_down(revision: Script) -> str:
    # `004@-1` steps 004 alone down, even beside another branch; a merge has no single step
    # below it, so it goes down to (either) parent, which removes only the merge.
    down = revision.down_revision
    return down[0] if isinstance(down, (tuple, list)) else f"{revision.revision}@-1"


def _failure(revision: Script, step: str, error: BaseException) -> Failure:
    reason = "the database error is above" if isinstance(error, SystemExit) else repr(error)
    return Failure(
        revision_label(revision.revision, revision.path),
        "stairway",
        f"the {step!r} step of up, down, up again failed: {reason}",
        FIX,
    )
