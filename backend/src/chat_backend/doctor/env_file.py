"""`.env` against `.env.example`, and the settings as Compose sees them.

Compose reads a variable from the environment first, then from `.env`, and an empty value
counts as unset (`${VAR:-default}`); the defaults are the ones `.env.example` documents.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chat_backend.doctor.report import Finding, fail, ok, warn
from chat_backend.env_encoding import NotUtf8Error
from chat_backend.env_encoding import read_env_text as env_file_text

ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
# `# POSTGRES_IMAGE=postgres:17`: a setting .env.example documents but leaves unset.
COMMENTED_ASSIGNMENT = re.compile(r"^\s*#\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# Host tools cannot resolve the Compose service name; containers get it from compose.yaml.
CONTAINER_ONLY_HOST = "db"


def read_env_text(text: str) -> dict[str, str]:
    """KEY=VALUE lines (the last one wins), with surrounding quotes or a trailing comment
    removed from the value."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if found := ASSIGNMENT.match(line):
            values[found[1]] = _unquote(found[2])
    return values


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw.split(" #", 1)[0].strip()


@dataclass(frozen=True)
class EnvFiles:
    """The project's `.env` (None when absent) and `.env.example`."""

    example: dict[str, str]
    documented: frozenset[str]
    env: dict[str, str] | None
    # Why .env could not be read as text (not UTF-8); None when it could.
    unreadable: str | None = None

    @classmethod
    def read(cls, root: Path) -> EnvFiles:
        example_path, env_path = root / ".env.example", root / ".env"
        example_text = example_path.read_text(encoding="utf-8") if example_path.is_file() else ""
        example = read_env_text(example_text)
        documented = frozenset(example) | frozenset(COMMENTED_ASSIGNMENT.findall(example_text))
        if not env_path.is_file():
            return cls(example, documented, None)
        try:
            return cls(example, documented, read_env_text(env_file_text(env_path)))
        except NotUtf8Error as error:
            return cls(example, documented, {}, unreadable=f".env {error}")

    def setting(self, name: str, environ: Mapping[str, str] = os.environ) -> str | None:
        """The value Compose would use: the environment, else .env, else the default."""
        return environ.get(name) or (self.env or {}).get(name) or self.example.get(name)


def check_env_files(files: EnvFiles) -> list[Finding]:
    if not files.example:
        return [fail(".env.example is missing or empty: restore it (git checkout -- .env.example)")]
    if files.unreadable is not None:
        return [fail(files.unreadable)]
    if files.env is None:
        return [ok("no .env: the defaults apply (copy .env.example to .env to change a setting)")]
    unknown = files.env.keys() - files.documented
    findings = []
    if files.env.get("POSTGRES_HOST") == CONTAINER_ONLY_HOST:
        unknown -= {"POSTGRES_HOST"}
        findings.append(
            warn(
                "POSTGRES_HOST=db in .env: only containers can resolve `db`, and compose.yaml "
                "already sets it for them; remove the line so host tools use localhost"
            )
        )
    findings += [_unknown(key, files.documented) for key in sorted(unknown)]
    missing = sorted(files.example.keys() - files.env.keys())
    if missing:
        findings.append(
            warn(
                f".env lacks {', '.join(missing)} (the defaults apply): copy those lines from "
                ".env.example to see and change them"
            )
        )
    return findings or [ok(".env sets only settings that .env.example documents, and all of them")]


def _unknown(key: str, documented: frozenset[str]) -> Finding:
    close = difflib.get_close_matches(key, documented, n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return warn(
        f".env sets {key}, which .env.example does not document{guess}: rename or remove it"
    )
