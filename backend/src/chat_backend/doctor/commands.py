"""Running the host's programs (docker, uv) and reading their answers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

TIMEOUT_S = 60
# Exit status of a command that did not answer in time, as timeout(1) reports it.
TIMED_OUT = 124

Version = tuple[int, ...]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str] | None:
    """Run a program found on PATH, as the user's shell would; None when it is not installed."""
    try:
        return subprocess.run(  # noqa: S603
            args, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, TIMED_OUT, "", f"no answer in {TIMEOUT_S} s")


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def parse_version(text: str) -> Version | None:
    """The leading numbers of a version such as `v2.40.3` or `20.10.24+dfsg1`."""
    found = re.search(r"\d+(?:\.\d+)*", text)
    return tuple(int(part) for part in found.group().split(".")) if found else None


def dotted(version: Version) -> str:
    return ".".join(map(str, version))
