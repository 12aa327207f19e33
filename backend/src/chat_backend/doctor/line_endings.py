"""Scripts that bash or a container's shell runs break on CRLF line endings (`$'\\r': command
not found`). .gitattributes keeps git from writing them, but a Windows editor or a copy made
without git can still bring them in."""

from __future__ import annotations

from pathlib import Path

from chat_backend.doctor.report import Finding, fail, ok

SHELL_FILES = ("scripts/*.sh", "db/init/*", ".ci/run", ".ci/*.sh", ".ci/images/*/*.sh")


def crlf_files(root: Path) -> list[str]:
    found = {path for pattern in SHELL_FILES for path in root.glob(pattern) if path.is_file()}
    return sorted(str(path.relative_to(root)) for path in found if b"\r\n" in path.read_bytes())


def check_line_endings(root: Path) -> Finding:
    broken = crlf_files(root)
    if not broken:
        return ok("the scripts have LF line endings")
    files = " ".join(broken)
    return fail(
        f"CRLF line endings in {files}, which bash and the containers cannot run: convert them "
        f"with `sed -i 's/\\r$//' {files}` (and `git config core.autocrlf input` to keep LF)"
    )
