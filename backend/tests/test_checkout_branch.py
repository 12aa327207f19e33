"""The checkout's branch, read from git's own files in real repositories made by git: a
branch, a detached HEAD, a worktree (whose `.git` is a file), no `.git` at all, and whether a
branch still exists (loose or packed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from chat_backend.db.checkout_branch import read_checkout


def git(directory: Path, *args: str) -> str:
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    completed = subprocess.run(
        ["git", *identity, *args], cwd=directory, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    directory = tmp_path / "repo"
    directory.mkdir()
    git(directory, "init", "-q", "-b", "main")
    (directory / "README").write_text("x\n")
    git(directory, "add", "-A")
    git(directory, "commit", "-qm", "first")
    return directory


def test_the_checked_out_branch_is_read_with_slashes(repo: Path) -> None:
    git(repo, "checkout", "-qb", "feature/notes")

    checkout = read_checkout(repo)

    assert checkout.branch == "feature/notes"
    assert checkout.unknown is None


def test_a_branch_exists_loose_or_packed_and_not_once_deleted(repo: Path) -> None:
    git(repo, "branch", "packed")
    git(repo, "branch", "gone")
    git(repo, "pack-refs", "--all")
    git(repo, "branch", "loose")
    git(repo, "branch", "-D", "gone")

    checkout = read_checkout(repo)

    assert checkout.has_branch("packed") is True
    assert checkout.has_branch("loose") is True
    assert checkout.has_branch("main") is True
    assert checkout.has_branch("gone") is False


def test_a_detached_head_is_unknown_and_says_so(repo: Path) -> None:
    commit = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")

    checkout = read_checkout(repo)

    assert checkout.branch is None
    assert checkout.unknown == f"HEAD is detached at {commit[:12]!r} (no branch checked out)"
    assert checkout.has_branch("main") is True


def test_a_copy_without_git_is_unknown_and_says_so(tmp_path: Path) -> None:
    checkout = read_checkout(tmp_path)

    assert checkout.branch is None
    assert (
        checkout.unknown
        == f"{tmp_path / '.git'} does not exist (a copy of the tree, not a git clone)"
    )
    assert checkout.has_branch("main") is None


def test_a_worktree_reads_its_own_head_and_the_shared_branches(repo: Path, tmp_path: Path) -> None:
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))

    checkout = read_checkout(tmp_path / "side")

    assert checkout.branch == "side"
    assert checkout.has_branch("main") is True


def test_a_worktree_whose_git_directory_is_not_mounted_is_unknown(
    repo: Path, tmp_path: Path
) -> None:
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    # What the container sees: the worktree's `.git` file, naming a directory it lacks.
    (mounted / ".git").write_text("gitdir: /host/only/repo/.git/worktrees/side\n")

    checkout = read_checkout(mounted)

    assert checkout.branch is None
    assert checkout.unknown == (
        f"{mounted / '.git'} belongs to a git worktree whose git directory "
        "'/host/only/repo/.git/worktrees/side' is not visible here (only the worktree is mounted)"
    )
