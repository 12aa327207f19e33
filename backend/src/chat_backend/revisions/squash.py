"""`make squash upto=N`: fold the revisions up to N into one checkpoint revision, so that a
fresh database builds N's schema in one step instead of replaying the whole history.

The checkpoint is generated, never written by hand: a throwaway database is migrated to N; its
`pg_dump --schema-only` (grants included), less what the database had before the first
revision, becomes the checkpoint's SQL (checkpoint_file). The grants that db/init's default
privileges give every new table (the read-only role's) are left to them, as the revisions left
them: the checkpoint then runs wherever the revisions ran, the tests' databases included.

Before anything is written the squash proves it right, as Django's squashmigrations is asked
to: a throwaway database built from the checkpoint must dump exactly as the one migrated
through the revisions, grants included; and so must a pair given db/init's SQL first (the roles
and default privileges of the stack's volume). Otherwise it refuses with the difference and
changes nothing.

The checkpoint keeps the id N and has no parent; the replaced files leave the checkout with
`git rm` (the commit named in the checkpoint keeps them), and the changes are staged, as
`make renumber` leaves them. db/schema.sql is not touched: the schema is the same.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL

from chat_backend.db.checkpoints import Checkpoint
from chat_backend.db.revision_checksums import file_checksum
from chat_backend.revisions.branch_revisions import Repository
from chat_backend.revisions.checkpoint_file import CheckpointSource
from chat_backend.revisions.checks.schema_dump import normalize, pg_dump
from chat_backend.revisions.database_init import initialize
from chat_backend.revisions.dump_entries import added, entries
from chat_backend.revisions.head_file import head_file, is_current, write_head_file
from chat_backend.revisions.layout import MigrationLayout
from chat_backend.revisions.throwaway_postgres import throwaway_databases

MAX_DIFF_LINES = 30


class SquashError(ValueError):
    """The squash cannot go ahead; one line with the fix. Nothing was changed."""


@dataclass(frozen=True)
class Squashed:
    checkpoint: Path
    removed: list[Path]
    commit: str


def squash(layout: MigrationLayout, upto: str) -> Squashed:
    """Replace the revisions up to `upto` with a checkpoint, proven equal, staged in git."""
    script = layout.script()
    replaced = _replaced(script, upto)
    revision = replaced[-1].revision
    repository = Repository(layout.versions_dir)
    stray = repository.uncommitted()
    if stray:
        raise SquashError(
            f"revision files have uncommitted changes ({', '.join(stray)}): commit them first, "
            "so that git keeps the files the checkpoint replaces"
        )
    commit = repository.git("rev-parse", "HEAD").strip()
    with throwaway_databases(4) as (original, rebuilt, *stack_pair):
        before = entries(pg_dump(original, privileges=True))
        command.upgrade(layout.config(original), revision)
        expected = pg_dump(original, privileges=True)
        source = CheckpointSource(
            revision,
            [squashed for replaced_ in replaced for squashed in _ids(replaced_)],
            commit,
            _replaced_sha256(replaced[-1]),
            added(before, entries(expected)),
        )
        text = _formatted(layout, source.render())
        with tempfile.TemporaryDirectory(prefix="chat-squash-") as tmp:
            folder = _without(layout, replaced, Path(tmp))
            (folder / "versions" / _file_name(revision)).write_text(text, encoding="utf-8")
            command.upgrade(_config(layout, folder, rebuilt), revision)
            _prove_equal(revision, expected, pg_dump(rebuilt, privileges=True), "")
            _prove_on_the_stack_s_terms(layout, folder, revision, stack_pair)
    return _write(layout, repository, replaced, text, commit)


def _prove_on_the_stack_s_terms(
    layout: MigrationLayout, folder: Path, revision: str, pair: list[URL]
) -> None:
    """The same proof on two databases given db/init's SQL first: there, db/init's default
    privileges grant on every new table, as on the stack's volume."""
    original, rebuilt = pair
    for database in pair:
        initialize(layout, database)
    command.upgrade(layout.config(original), revision)
    command.upgrade(_config(layout, folder, rebuilt), revision)
    _prove_equal(
        revision,
        pg_dump(original, privileges=True),
        pg_dump(rebuilt, privileges=True),
        " on a database given db/init's roles and default privileges first, as the stack's are",
    )


def _replaced(script: ScriptDirectory, upto: str) -> list[Script]:
    """The revisions up to `upto`, oldest first; refused when a revision outside them builds
    on one of them (it would lose its parent) or `upto` is a checkpoint already."""
    try:
        found = script.get_revision(upto)
    except CommandError:
        found = None
    if found is None:
        raise SquashError(
            f"upto: there is no revision {upto!r} to squash up to; `make history` lists them "
            "(make squash upto=300)"
        )
    replaced = list(reversed(list(script.iterate_revisions(found.revision, "base"))))
    if len(replaced) == 1 and Checkpoint.read(Path(found.path)) is not None:
        raise SquashError(f"upto: revision {found.revision} is a checkpoint already")
    ids = {revision.revision for revision in replaced}
    for revision in script.walk_revisions():
        down = revision.down_revision
        parents = set(down) if isinstance(down, (tuple, list)) else {down or ""}
        if revision.revision not in ids and parents & (ids - {found.revision}):
            raise SquashError(
                f"upto: revision {revision.revision} builds on "
                f"{', '.join(sorted(parents & ids))}, which the checkpoint would replace: "
                "squash up to a revision every other one comes after"
            )
    return replaced


def _ids(revision: Script) -> list[str]:
    """The ids a replaced revision stands for: a checkpoint's own, or the revision's."""
    checkpoint = Checkpoint.read(Path(revision.path))
    return list(checkpoint.replaces) if checkpoint is not None else [revision.revision]


def _replaced_sha256(revision: Script) -> str:
    checkpoint = Checkpoint.read(Path(revision.path))
    return checkpoint.sha256 if checkpoint is not None else file_checksum(revision.path)


def _without(layout: MigrationLayout, replaced: list[Script], folder: Path) -> Path:
    """A copy of the migrations folder in `folder`, without the replaced files."""
    names = {Path(revision.path).name for revision in replaced}
    shutil.copytree(
        Path(layout.script().dir),
        folder,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", *names),
    )
    return folder


def _config(layout: MigrationLayout, folder: Path, url: URL) -> Config:
    """Alembic's config for the migrations in `folder`, on the database at `url`."""
    config = layout.config(url)
    config.set_main_option("script_location", str(folder))
    return config


def _prove_equal(revision: str, expected: str, rebuilt: str, where: str) -> None:
    if normalize(expected) == normalize(rebuilt):
        return
    diff = list(
        difflib.unified_diff(
            normalize(expected).splitlines(),
            normalize(rebuilt).splitlines(),
            f"the revisions up to {revision}",
            "the checkpoint",
            n=0,
            lineterm="",
        )
    )
    shown = " | ".join(line for line in diff[2:MAX_DIFF_LINES] if not line.startswith("@@"))
    raise SquashError(
        f"a database built from the checkpoint would differ from one migrated to {revision}"
        f"{where} ({shown}); nothing was written: squash up to another revision, or report the "
        "difference"
    )


def _write(
    layout: MigrationLayout,
    repository: Repository,
    replaced: list[Script],
    text: str,
    commit: str,
) -> Squashed:
    removed = [Path(revision.path) for revision in replaced]
    target = layout.versions_dir / _file_name(replaced[-1].revision)
    repository.git("rm", "--quiet", "--", *(path.name for path in removed))
    target.write_text(text, encoding="utf-8")
    repository.git("add", "--", target.name)
    # versions/HEAD names the head's file, which may be one the checkpoint replaced.
    if head_file(layout.versions_dir).exists() and not is_current(layout.script()):
        repository.git("add", "--", write_head_file(layout.script()).name)
    return Squashed(target, removed, commit)


def _formatted(layout: MigrationLayout, text: str) -> str:
    """`text` as ruff format writes it, as alembic.ini's post-write hook formats every new
    revision (unchanged where ruff is not installed: it is a dev tool)."""
    beside_python = Path(sysconfig.get_path("scripts")) / "ruff"
    ruff = str(beside_python) if beside_python.exists() else shutil.which("ruff")
    if ruff is None:
        return text
    # ruff from this environment, reading the text on stdin: no shell, nothing untrusted.
    completed = subprocess.run(  # noqa: S603
        [ruff, "format", "--stdin-filename", "migrations/versions/checkpoint.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=layout.backend_dir,
        check=False,
    )
    return completed.stdout if completed.returncode == 0 else text


def _file_name(revision: str) -> str:
    return f"{revision}_checkpoint.py"
