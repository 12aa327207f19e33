"""Findings, printed one line each as they come (some checks take seconds), and the verdict."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import Enum
from typing import TextIO


class Level(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    """One fact about the machine; for WARN and FAIL the message ends with its fix."""

    level: Level
    message: str


def ok(message: str) -> Finding:
    return Finding(Level.OK, message)


def warn(message: str) -> Finding:
    return Finding(Level.WARN, message)


def fail(message: str) -> Finding:
    return Finding(Level.FAIL, message)


@dataclass
class Report:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    blockers: int = 0

    def add(self, *findings: Finding) -> None:
        for finding in findings:
            self.blockers += finding.level is Level.FAIL
            print(f"  {finding.level.value:<4}  {finding.message}", file=self.out, flush=True)

    def verdict(self) -> int:
        """Print the summary; the exit status: 1 when something blocks the stack, else 0."""
        if self.blockers:
            print(
                f"\n{self.blockers} blocker(s): fix the FAIL lines above, then run `make doctor` "
                "again.",
                file=self.out,
            )
            return 1
        print("\nReady: `docker compose up --wait` (or `make up`) starts the stack.", file=self.out)
        return 0
