"""Bad arguments to the make targets fail before anything runs, with the fix in one line.

They run on a copy of the Makefile and scripts/ whose Compose command is `false`, so a guard
that stopped guarding could not touch any stack.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.alembic_support import BACKEND_DIR

REPO_ROOT = BACKEND_DIR.parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(REPO_ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "notes.txt").write_text("not a database dump\n")
    return tmp_path


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "COMPOSE=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("rollback", "STEPS=abc"),
            "rollback: STEPS must be a whole number of revisions, at least 1: "
            "make rollback STEPS=2",
        ),
        (
            ("rollback", "STEPS=0"),
            "rollback: STEPS must be a whole number of revisions, at least 1: "
            "make rollback STEPS=2",
        ),
        (("revision",), 'm is required: make revision m="add email"'),
        (("stamp",), "rev is required: make stamp rev=002"),
        (
            ("restore-backup",),
            "file is required: make restore-backup file=backups/NAME.dump; ls backups lists them",
        ),
        (
            ("restore-backup", "file=backups/missing.dump"),
            "restore-backup: no file backups/missing.dump; pick one in backups/ (ls backups): "
            "make restore-backup file=backups/<name>.dump",
        ),
        (
            ("restore-backup", "file=backups/notes.txt"),
            "restore-backup: backups/notes.txt is not a pg_dump custom-format archive; use a "
            "file that make backup wrote",
        ),
    ],
    ids=[
        "rollback-steps-abc",
        "rollback-steps-0",
        "revision-without-m",
        "stamp-without-rev",
        "restore-backup-without-file",
        "restore-backup-missing-file",
        "restore-backup-not-a-dump",
    ],
)
def test_bad_arguments_fail_early_with_the_fix(
    repo: Path, args: tuple[str, ...], expected: str
) -> None:
    failed = make(repo, *args)
    assert failed.returncode == 2
    assert expected in failed.stderr
    assert failed.stdout == ""
    assert not any((repo / "backups").glob("*.dump"))
