"""What git knows about the revision files: those this branch added since it left a base
branch, the base branch's own revisions, and uncommitted changes.

Read with the `git` command (the one a developer has): no library keeps a second opinion.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from chat_backend.db.revision_ids import DownRevision, assigned, declared_down_revision


class GitError(RuntimeError):
    """git could not answer; the message is one line with the fix."""


@dataclass(frozen=True)
class RevisionFile:
    path: Path
    revision: str
    down_revision: DownRevision
    source: str

    @classmethod
    def parse(cls, path: Path, source: str) -> RevisionFile | None:
        revision = assigned(source, "revision", str(path))
        if not isinstance(revision, str):
            return None
        return cls(path, revision, declared_down_revision(source, str(path)), source)


@dataclass(frozen=True)
class Repository:
    """The git work tree that holds `versions_dir`."""

    versions_dir: Path

    def git(self, *args: str) -> str:
        try:
            completed = subprocess.run(  # noqa: S603
                ["git", *args],  # noqa: S607  # git from PATH, as a developer runs it
                cwd=self.versions_dir,
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed: install it (https://git-scm.com)") from None
        if completed.returncode != 0:
            reason = (completed.stderr.strip().splitlines() or ["failed"])[-1]
            raise GitError(f"git {' '.join(args)}: {reason}")
        return completed.stdout

    def merge_base(self, base: str) -> str:
        try:
            self.git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
        except GitError:
            raise GitError(
                f"BASE: there is no branch or commit {base!r} in this repository; name the "
                "branch you merged: make renumber BASE=main"
            ) from None
        return self.git("merge-base", "HEAD", base).strip()

    def uncommitted(self) -> list[str]:
        """Revision files with changes not even staged (or untracked, or unmerged)."""
        status = self.git(
            "status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all", "--", "."
        )
        return [
            entry[3:]
            for entry in _names(status)
            if entry[1] != " " or "U" in entry[:2] or entry[:2] in {"AA", "DD"}
        ]

    def added_since(self, commit: str) -> list[RevisionFile]:
        """Revision files in the work tree that `commit` did not have."""
        names = _names(
            self.git(
                "diff",
                "-z",
                "--name-only",
                "--no-renames",
                "--diff-filter=A",
                "--relative",
                commit,
                "--",
                ".",
            )
        )
        found = (
            RevisionFile.parse(self.versions_dir / name, (self.versions_dir / name).read_text())
            for name in names
            if name.endswith(".py") and "/" not in name
        )
        return [revision for revision in found if revision is not None]

    def revisions_at(self, commit: str) -> list[RevisionFile]:
        """The revision files of `commit` (a branch name will do)."""
        names = _names(self.git("ls-tree", "-z", "--name-only", commit, "--", "."))
        found = (
            RevisionFile.parse(self.versions_dir / name, self.git("show", f"{commit}:./{name}"))
            for name in names
            if name.endswith(".py")
        )
        return [revision for revision in found if revision is not None]


def _names(output: str) -> list[str]:
    """git's NUL-separated (-z) output: without -z, git quotes a name with bytes outside ASCII
    ("004_a\\303\\261adir.py"), and reading names as words splits one with a space."""
    return [name for name in output.split("\0") if name]
