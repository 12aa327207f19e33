"""One broken rule, said so that it can be acted on: where, which rule, what, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Failure:
    where: str
    rule: str
    problem: str
    fix: str
    # Shown under the one-line message, e.g. a diff.
    details: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.problem}; {self.fix}"


def revision_label(revision: str, *paths: str | Path) -> str:
    """`revision 004 (004_add_email.py)`; several files when several claim the revision."""
    names = ", ".join(Path(path).name for path in paths)
    return f"revision {revision} ({names})" if names else f"revision {revision}"
