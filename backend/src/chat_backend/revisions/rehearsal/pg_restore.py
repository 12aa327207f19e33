"""Where pg_restore runs, so that its version matches the server's.

`make rehearse` loads into the Compose stack's db service, so it runs that container's own
pg_restore (as scripts/backup.sh runs its pg_dump): the archive is copied into the container
for the load (`--jobs` needs a file it can seek in, not a pipe) and removed afterwards. Against
any other local server (the tests' throwaway one) the pg_restore of the server's own binaries
runs, and a version that differs from the server's is refused before anything is created.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chat_backend.db.target import Target
from chat_backend.revisions.rehearsal.archive import USAGE, Archive, ArchiveError

# `pg_restore --verbose` names each archive item as it starts it (one process) or finishes it
# (the parallel workers); the --list lines start with the same item numbers.
ITEM_LINE = re.compile(r"pg_restore: (?:processing|finished) item (\d+) ")
LIST_LINE = re.compile(r"^(\d+);")
VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
# The service whose pg_restore matches the server (compose.yaml).
DB_SERVICE = "db"


@dataclass(frozen=True)
class HostPgRestore:
    """The pg_restore beside the server's binaries (or on PATH), connecting like libpq does."""

    binary: str
    target: Target

    @contextmanager
    def staged(self, archive: Archive) -> Iterator[str]:
        yield str(archive.path)

    def argv(self, args: Sequence[str]) -> list[str]:
        where = ["--host", self.target.host] if self.target.host else []
        return [
            self.binary,
            *where,
            "--port",
            str(self.target.port),
            "--username",
            self.target.user,
            *args,
        ]

    def environment(self) -> dict[str, str]:
        # The password through libpq's variable, never on a command line (ps shows those).
        return {**os.environ, "PGPASSWORD": self.target.password}

    def version(self) -> int:
        return major_version(_output([self.binary, "--version"], self.environment()))


@dataclass(frozen=True)
class ComposePgRestore:
    """The db container's own pg_restore, as its superuser over the local socket."""

    compose: tuple[str, ...]

    @contextmanager
    def staged(self, archive: Archive) -> Iterator[str]:
        inside = f"/tmp/rehearse-{secrets.token_hex(6)}"  # noqa: S108 (the container's /tmp)
        _output([*self.compose, "cp", str(archive.path), f"{DB_SERVICE}:{inside}"], None)
        try:
            yield inside
        finally:
            _output([*self.compose, "exec", "-T", DB_SERVICE, "rm", "-rf", inside], None)

    def argv(self, args: Sequence[str]) -> list[str]:
        # The user is the container's own variable, expanded by its shell; our arguments
        # follow as "$@", never parsed by a shell.
        script = 'exec pg_restore -U "$POSTGRES_USER" "$@"'
        return [*self.compose, "exec", "-T", DB_SERVICE, "sh", "-c", script, "pg_restore", *args]

    def environment(self) -> dict[str, str]:
        return dict(os.environ)


PgRestore = HostPgRestore | ComposePgRestore


def host_pg_restore(target: Target, bin_dir: Path | None) -> HostPgRestore:
    binary = (bin_dir / "pg_restore") if bin_dir else shutil.which("pg_restore")
    if binary is None or not Path(binary).is_file():
        raise ArchiveError(
            "no pg_restore on this machine: run `make rehearse`, which uses the db container's "
            "own, or install the PostgreSQL client of the server's version"
        )
    return HostPgRestore(str(binary), target)


def major_version(text: str) -> int:
    found = VERSION.search(text)
    if found is None:
        raise ArchiveError(f"cannot read pg_restore's version from {text.strip()!r}")
    return int(found.group(1))


def listed_items(command: PgRestore, staged: str, archive: Archive) -> frozenset[str]:
    """The numbers of the items the archive's table of contents lists; ArchiveError if it is
    unreadable."""
    completed = _run(command, ["--list", staged])
    if completed.returncode != 0:
        raise ArchiveError(_unreadable(archive, completed.stderr))
    found = (LIST_LINE.match(line) for line in completed.stdout.splitlines())
    return frozenset(match.group(1) for match in found if match)


def restore(
    command: PgRestore,
    staged: str,
    archive: Archive,
    database: str,
    jobs: int,
    listed: frozenset[str],
    progress: Callable[[int], None],
) -> None:
    """Load the archive into `database` with `jobs` parallel workers, reporting how many of
    the `listed` items are done (pg_restore also names a few header entries the list leaves
    out); ArchiveError with pg_restore's first error if it fails."""
    args = [
        "--verbose",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--jobs",
        str(jobs),
        "--dbname",
        database,
        staged,
    ]
    # The argv is ours (a binary, or Docker's CLI) with arguments we built: no shell.
    with subprocess.Popen(  # noqa: S603
        command.argv(args),
        env=command.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        done: set[str] = set()
        errors: list[str] = []
        for line in process.stderr:
            found = ITEM_LINE.match(line)
            if found and found.group(1) in listed:
                done.add(found.group(1))
                progress(len(done))
            elif "error:" in line:
                errors.append(line.strip())
    if process.returncode != 0:
        raise ArchiveError(_unreadable(archive, "\n".join(errors)))


def _unreadable(archive: Archive, stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = lines[0].removeprefix("pg_restore: ").removeprefix("error: ") if lines else "failed"
    return f"file={str(archive.path)!r} cannot be restored ({reason}); {USAGE}"


def _run(command: PgRestore, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our argv, no shell)
        command.argv(args), env=command.environment(), capture_output=True, text=True, check=False
    )


def _output(argv: list[str], env: dict[str, str] | None) -> str:
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise ArchiveError(f"`{' '.join(argv[:3])} ...` failed: {reason}")
    return completed.stdout
