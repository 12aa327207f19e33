"""The HEAD file names the head revision's file: otherwise the next branch that adds a revision
would not conflict with this one in git (revisions/head_file says why it exists)."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from chat_backend.revisions.checks.failure import Failure
from chat_backend.revisions.head_file import NAME, expected, recorded

CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


def check_head_file(script: ScriptDirectory) -> list[Failure]:
    found, wanted = recorded(Path(script.versions)), expected(script)
    if found == wanted:
        return []
    names = ", ".join(wanted)
    if found is None:
        problem = "is missing"
    elif any(line.startswith(CONFLICT_MARKERS) for line in found):
        return [_conflict()]
    else:
        problem = f"names {', '.join(found) or 'nothing'}"
    return [
        Failure(
            f"file versions/{NAME}",
            "head-file",
            f"{problem}, but the head revision's file is {names}",
            f"write {names} as its last line (make revision, make merge and make renumber "
            "keep it), and commit it",
        )
    ]


def _conflict() -> Failure:
    return Failure(
        f"file versions/{NAME}",
        "head-file",
        "has merge-conflict markers: both branches added a revision",
        "run `make renumber BASE=main` (the branch you merged), then `make check`",
    )
