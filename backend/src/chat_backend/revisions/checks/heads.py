"""One head: the revisions form a single line, so `upgrade head` means one thing.

Two branches that each add a revision after 003 (say 004 and 005) fork the history; until a
merge revision joins them, `alembic upgrade head` refuses to run.
"""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from chat_backend.revisions.checks.failure import Failure


def check_single_head(script: ScriptDirectory) -> list[Failure]:
    heads = sorted(script.get_heads())
    if len(heads) < 2:
        return []
    files = ", ".join(_file_name(script, head) for head in heads)
    return [
        Failure(
            f"revisions {', '.join(heads)} ({files})",
            "single-head",
            f"the history has {len(heads)} heads: branches added revisions after the same parent",
            "run `make merge` to join them with a merge revision, or make the newer ones "
            f"follow {heads[0]} (down_revision = {heads[0]!r})",
        )
    ]


def _file_name(script: ScriptDirectory, revision: str) -> str:
    found = script.get_revision(revision)
    assert found is not None
    return Path(found.path).name
