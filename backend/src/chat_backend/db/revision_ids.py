"""Revision ids as the files declare them, read from their source without importing them.

Two branches that each add revision 004 leave, once merged, two files declaring
`revision = "004"`. Alembic only warns and keeps one of them, so the other would silently never
run: the migrator refuses before it connects (`duplicate_problem`), and the gate reports the same
finding (revisions/checks/numbering.py). Stored sources of phantom revisions are read the same
way (phantom_revisions).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from alembic.script import ScriptDirectory

from chat_backend.config import exit_with_problems

DownRevision = str | tuple[str, ...] | None


def revision_files(versions_dir: Path) -> list[Path]:
    return sorted(path for path in versions_dir.glob("*.py") if path.name != "__init__.py")


def declared_revision(path: Path) -> str | None:
    """The string assigned to `revision` at the top of the file."""
    value = assigned(path.read_text(encoding="utf-8"), "revision", str(path))
    return value if isinstance(value, str) else None


def declared_down_revision(source: str, filename: str = "<revision>") -> DownRevision:
    """What `down_revision` is set to in a revision's source: an id, a tuple of ids (a merge),
    or None (the first revision)."""
    value = assigned(source, "down_revision", filename)
    if isinstance(value, (list, tuple)):
        return tuple(str(parent) for parent in value)
    return value if isinstance(value, str) else None


def parent_ids(down: DownRevision) -> tuple[str, ...]:
    """The revisions a `down_revision` names: none for the first, two or more for a merge."""
    return down if isinstance(down, tuple) else ((down,) if down else ())


def assigned(source: str, name: str, filename: str = "<revision>") -> object:
    """The literal assigned to `name` at the top level of `source` (None when it is not)."""
    for node in ast.parse(source, filename).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            try:
                return ast.literal_eval(value)
            except ValueError:
                return None
    return None


def duplicate_revision_ids(versions_dir: Path) -> dict[str, list[Path]]:
    """Each revision id declared by more than one file, with those files."""
    files_by_revision: defaultdict[str, list[Path]] = defaultdict(list)
    for path in revision_files(versions_dir):
        revision = declared_revision(path)
        if revision is not None:
            files_by_revision[revision].append(path)
    return {revision: paths for revision, paths in files_by_revision.items() if len(paths) > 1}


def duplicate_problem(versions_dir: Path) -> str | None:
    """One line naming the files that declare one revision id, and the fix; None if none do."""
    duplicates = duplicate_revision_ids(versions_dir)
    if not duplicates:
        return None
    clashes = "; ".join(
        f"revision {revision!r} is declared by {' and '.join(path.name for path in paths)}"
        for revision, paths in sorted(duplicates.items())
    )
    return (
        f"{clashes} (two branches numbered a revision alike), so Alembic would run only one; "
        "nothing was migrated: run `make renumber` to move this branch's revisions after the "
        "base branch's head"
    )


def refuse_duplicate_revision_ids(script: ScriptDirectory) -> None:
    """For env.py, before it connects: exit 1 with one line when two files declare one id."""
    problem = duplicate_problem(Path(script.versions))
    if problem is not None:
        exit_with_problems([problem], code=1)
