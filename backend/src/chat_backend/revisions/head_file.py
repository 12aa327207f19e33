"""backend/migrations/versions/HEAD: the head revision's file name, committed beside the files.

Two branches that each add a revision after 003 leave two files numbered alike, and nothing in
git minds: the clash shows only at boot or in CI. With this file each branch changes the same
line to a different name (`004_add_avatar.py`, `004_add_phone.py`), so merging them is a git
conflict on it, at merge time (django-linear-migrations' max_migration.txt, Atlas's atlas.sum).
A file name, not the bare id: two branches that both wrote `004` would make the same change,
which git merges silently.

`make revision`, `make merge` and `make renumber` rewrite it; `make check` and the pre-commit
hook fail when it names something else. Alembic and the migrator never read it: they load only
`*.py` files.
"""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

NAME = "HEAD"
COMMENT = """\
# The newest revision's file, kept by `make revision`, `make merge` and `make renumber`;
# `make check` fails when it names another. A merge conflict here means both branches added
# a revision: run `make renumber BASE=main` (the branch you merged), which renumbers this
# branch's revisions after main's and rewrites this file, then `make check` and commit.
"""


def head_file(versions_dir: Path) -> Path:
    return versions_dir / NAME


def expected(script: ScriptDirectory) -> list[str]:
    """The head revisions' file names (one, unless the history is forked)."""
    heads = (script.get_revision(head) for head in sorted(script.get_heads()))
    return [Path(head.path).name for head in heads if head is not None]


def recorded(versions_dir: Path) -> list[str] | None:
    """The names the file records (None when there is no file); conflict markers included."""
    path = head_file(versions_dir)
    if not path.exists():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("# ")]


def write_head_file(script: ScriptDirectory) -> Path:
    path = head_file(Path(script.versions))
    path.write_text(COMMENT + "".join(f"{name}\n" for name in expected(script)), encoding="utf-8")
    return path


def is_current(script: ScriptDirectory) -> bool:
    return recorded(Path(script.versions)) == expected(script)
