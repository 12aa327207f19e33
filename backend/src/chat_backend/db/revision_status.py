"""`make current` and `make history`: Alembic's own answers, with the database's phantom
revisions (not in this checkout, e.g. after switching branches) marked as such, where Alembic
would stop with "Can't locate revision"; `current` ends with a line naming the branch whose
data the database holds (db/branch_switch).

Usage: python -m chat_backend.db.revision_status current|history
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from chat_backend.config import settings_or_exit
from chat_backend.db.alembic_config import existing_alembic_ini
from chat_backend.db.branch_marker import READ_OWN_COMMENT, marked_branch
from chat_backend.db.checkpoints import below_checkpoint, refuse_squashed_parents
from chat_backend.db.migration_runtime import connection_for
from chat_backend.db.phantom_revisions import find_phantoms
from chat_backend.db.revision_ids import refuse_duplicate_revision_ids
from chat_backend.db.stored_revisions import StoredRevision

COMMANDS = ("current", "history")


def marked(phantom: StoredRevision) -> str:
    fix = (
        "`make migrate` rolls it back after a snapshot"
        if phantom.source is not None
        else "its source was never stored: check out the branch that has it and `make rollback`"
    )
    return f"{phantom.revision} (phantom: applied, but not in this checkout; {fix})"


def served(branch: str | None) -> str:
    """Whose data the database holds (each branch keeps its own: `make branches`)."""
    if branch is None:
        return "data: of no branch yet (the next migrator run on a git branch marks it)"
    return f"data: branch {branch!r} (other branches' data: `make branches`)"


def main(argv: Sequence[str]) -> int:
    if list(argv) not in ([name] for name in COMMANDS):
        print(
            f"usage: python -m chat_backend.db.revision_status {'|'.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    config = Config(str(existing_alembic_ini()), stdout=sys.stdout)
    script = ScriptDirectory.from_config(config)
    refuse_duplicate_revision_ids(script)
    refuse_squashed_parents(script)
    with connection_for(None, settings_or_exit()) as connection:
        phantoms = find_phantoms(connection, script)
        branch = marked_branch(connection.scalar(text(READ_OWN_COMMENT)))
    squashed = below_checkpoint(Path(script.versions), (p.revision for p in phantoms))
    if squashed is not None:
        print(squashed)
        return 1
    for phantom in phantoms:
        print(marked(phantom))
    if argv[0] == "history":
        command.history(config, verbose=True, indicate_current=not phantoms)
    else:
        if not phantoms:
            command.current(config)
        print(served(branch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
