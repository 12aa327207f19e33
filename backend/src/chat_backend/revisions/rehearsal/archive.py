"""The dump a rehearsal loads: a pg_dump archive in custom format (one file) or directory
format (a folder with toc.dat), checked before anything is created, and its checksum, which
names the cached template it is loaded into."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

# pg_dump's custom format starts with these five bytes; a directory archive holds toc.dat.
CUSTOM_MAGIC = b"PGDMP"
DIRECTORY_TOC = "toc.dat"
USAGE = "make rehearse file=backups/NAME.dump (a pg_dump -Fc file, or a pg_dump -Fd folder)"
CHUNK = 1 << 20


class ArchiveError(Exception):
    """The dump is missing or not a pg_dump archive; the message says which, in one line."""


@dataclass(frozen=True)
class Archive:
    path: Path
    directory: bool

    def checksum(self) -> str:
        """sha256 of the archive's bytes (for a folder: each file's name and bytes, by name)."""
        digest = hashlib.sha256()
        files = sorted(p for p in self.path.rglob("*") if p.is_file()) if self.directory else []
        for path in files or [self.path]:
            if self.directory:
                digest.update(path.relative_to(self.path).as_posix().encode() + b"\0")
            with path.open("rb") as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
        return digest.hexdigest()


def open_archive(path: Path) -> Archive:
    """The archive at `path`; ArchiveError when there is none, or it is not one."""
    if path.is_dir():
        if not (path / DIRECTORY_TOC).is_file():
            raise ArchiveError(
                f"file={str(path)!r} is a folder without {DIRECTORY_TOC}, so not a pg_dump "
                f"directory archive: {USAGE}"
            )
        return Archive(path, directory=True)
    if not path.is_file():
        raise ArchiveError(f"file={str(path)!r}: no such file; {USAGE}")
    with path.open("rb") as stream:
        if stream.read(len(CUSTOM_MAGIC)) != CUSTOM_MAGIC:
            raise ArchiveError(
                f"file={str(path)!r} is not a pg_dump archive (a plain SQL dump cannot be "
                f"restored in parallel): {USAGE}"
            )
    return Archive(path, directory=False)
