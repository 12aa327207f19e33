"""Which git branch the checkout is on, read from the files git keeps (the image has no git).

compose.yaml mounts the project read-only into both roles (CHECKOUT_DIR), so the migrator of a
plain `docker compose up` knows the branch it migrates for. Git keeps the branch in `.git/HEAD`
(`ref: refs/heads/<name>`) and each branch as a loose file under `refs/heads/` or a line of
`packed-refs`. Where the branch cannot be known (no `.git`: a copy of the tree; a detached
HEAD; a worktree whose git directory lies outside the mount), `Checkout.branch` is None and
`Checkout.unknown` says why in a few words, for the migrator's one-line fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BRANCH_REF = "refs/heads/"


@dataclass(frozen=True)
class Checkout:
    """The checkout's branch, or why it is unknown; where git keeps the branches."""

    branch: str | None
    unknown: str | None = None
    refs_dir: Path | None = None

    def has_branch(self, name: str) -> bool | None:
        """Whether git still has branch `name` (None: no git directory to ask)."""
        if self.refs_dir is None:
            return None
        if (self.refs_dir / BRANCH_REF / name).is_file():
            return True
        packed = self.refs_dir / "packed-refs"
        lines = packed.read_text(errors="replace").splitlines() if packed.is_file() else []
        return any(line.split(" ", 1)[-1] == BRANCH_REF + name for line in lines)


def read_checkout(directory: Path) -> Checkout:
    """The branch checked out in `directory` (a working tree), from its `.git`."""
    dot_git = directory / ".git"
    if dot_git.is_dir():
        return _from_git_dir(dot_git, dot_git)
    if dot_git.is_file():
        return _from_worktree_file(dot_git)
    return Checkout(None, f"{dot_git} does not exist (a copy of the tree, not a git clone)")


def _from_worktree_file(dot_git: Path) -> Checkout:
    """A worktree's `.git` is a file naming its git directory (`gitdir: <path>`), whose
    `commondir` names the shared one that holds the branches."""
    content = dot_git.read_text(errors="replace").strip()
    if not content.startswith("gitdir:"):
        return Checkout(None, f"{dot_git} is a file but not a worktree's (no 'gitdir:' line)")
    git_dir = (dot_git.parent / content.removeprefix("gitdir:").strip()).resolve()
    if not (git_dir / "HEAD").is_file():
        return Checkout(
            None,
            f"{dot_git} belongs to a git worktree whose git directory {str(git_dir)!r} is not "
            "visible here (only the worktree is mounted)",
        )
    common = git_dir / "commondir"
    refs_dir = (git_dir / common.read_text().strip()).resolve() if common.is_file() else git_dir
    return _from_git_dir(git_dir, refs_dir)


def _from_git_dir(git_dir: Path, refs_dir: Path) -> Checkout:
    head_file = git_dir / "HEAD"
    if not head_file.is_file():
        return Checkout(None, f"{head_file} does not exist", refs_dir)
    head = head_file.read_text(errors="replace").strip()
    if head.startswith(f"ref: {BRANCH_REF}"):
        return Checkout(head.removeprefix(f"ref: {BRANCH_REF}"), None, refs_dir)
    if head.startswith("ref: "):
        return Checkout(None, f"HEAD points at {head.removeprefix('ref: ')!r}, not a branch")
    return Checkout(None, f"HEAD is detached at {head[:12]!r} (no branch checked out)", refs_dir)
