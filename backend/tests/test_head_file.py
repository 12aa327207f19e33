"""versions/HEAD names the head revision's file: the revision commands keep it, the gate and the
pre-commit hook fail when it names another, and Alembic never reads it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from alembic import command
from sqlalchemy import URL

from chat_backend.revisions.checks.head_file import check_head_file
from chat_backend.revisions.cli import main
from chat_backend.revisions.files import next_revision_id
from chat_backend.revisions.head_file import COMMENT, head_file
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import BACKEND_DIR, HEAD
from tests.checks_support import REAL, add_revision, copy_project
from tests.reliability_support import COMMAND_TIMEOUT_S, command_env

PRE_COMMIT = BACKEND_DIR.parent / ".pre-commit-config.yaml"
CONFLICT = "<<<<<<< HEAD\n004_add_avatar.py\n=======\n004_add_phone.py\n>>>>>>> main\n"


@pytest.fixture
def project(tmp_path: Path) -> MigrationLayout:
    return copy_project(tmp_path)


def head_name(layout: MigrationLayout) -> str:
    return head_file(layout.versions_dir).read_text().removeprefix(COMMENT).strip()


def test_the_real_tree_names_its_head() -> None:
    assert check_head_file(REAL.script()) == []
    assert head_name(REAL).startswith(f"{HEAD}_")


def test_make_revision_and_make_merge_keep_it(project: MigrationLayout) -> None:
    number = next_revision_id(project.versions_dir)
    assert main(["--config", str(project.alembic_ini), "revision", "--message", "add phone"]) == 0
    assert head_name(project) == f"{number}_add_phone.py"

    add_revision(project, "900_fork.py", revision="900", down_revision=HEAD)
    merge_number = next_revision_id(project.versions_dir)
    assert main(["--config", str(project.alembic_ini), "merge"]) == 0
    assert head_name(project) == f"{merge_number}_merge_heads.py"
    assert check_head_file(project.script()) == []


def test_a_revision_written_by_hand_fails_the_gate_with_the_fix(project: MigrationLayout) -> None:
    number = next_revision_id(project.versions_dir)
    add_revision(project, f"{number}_by_hand.py", revision=number, down_revision=HEAD)
    [failure] = check_head_file(project.script())
    assert str(failure) == (
        f"file versions/HEAD: head-file: names {head_name(REAL)}, but the head revision's file "
        f"is {number}_by_hand.py; write {number}_by_hand.py as its last line (make revision, "
        "make merge and make renumber keep it), and commit it"
    )


def test_conflict_markers_say_make_renumber(project: MigrationLayout) -> None:
    head_file(project.versions_dir).write_text(COMMENT + CONFLICT)
    [failure] = check_head_file(project.script())
    assert str(failure) == (
        "file versions/HEAD: head-file: has merge-conflict markers: both branches added a "
        "revision; run `make renumber BASE=main` (the branch you merged), then `make check`"
    )


def test_a_missing_file_fails(project: MigrationLayout) -> None:
    head_file(project.versions_dir).unlink()
    [failure] = check_head_file(project.script())
    assert failure.problem.startswith("is missing, but the head revision's file is ")


def test_the_pre_commit_hook_fails_on_a_stale_file_in_one_line(project: MigrationLayout) -> None:
    hooks = [
        hook for repo in yaml.safe_load(PRE_COMMIT.read_text())["repos"] for hook in repo["hooks"]
    ]
    [hook] = [hook for hook in hooks if hook["id"] == "revision-head"]
    assert hook["files"] == "^backend/migrations/versions/"
    env = command_env(ALEMBIC_CONFIG=str(project.alembic_ini))

    def run_hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # the hook's own entry, as pre-commit runs it
            shlex.split(hook["entry"]),
            cwd=BACKEND_DIR.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )

    assert run_hook().returncode == 0
    add_revision(project, "900_by_hand.py", revision="900", down_revision=HEAD)
    stale = run_hook()
    assert stale.returncode == 1
    [line] = stale.stderr.strip().splitlines()
    assert line.startswith("error: file versions/HEAD: head-file: names ")


def test_alembic_never_reads_it(project: MigrationLayout, empty_database_url: URL) -> None:
    head_file(project.versions_dir).write_text(COMMENT + CONFLICT)
    command.upgrade(project.config(empty_database_url), "head")
    assert project.script().get_current_head() == HEAD
