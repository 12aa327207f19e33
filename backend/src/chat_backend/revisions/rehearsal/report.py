"""The rehearsal's verdict: findings per revision, a table for people, JSON for tools, and
the exit status.

A finding says what is dangerous, why, and the safe way to write it (strong_migrations'
habit): a rewrite or an ACCESS EXCLUSIVE lock of a table above the row threshold, or a
statement past the migrator's statement timeout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chat_backend.revisions.rehearsal.measurement import ACCESS_EXCLUSIVE
from chat_backend.revisions.rehearsal.runner import Outcome

DEFAULT_MAX_ROWS = 100_000
HEADERS = ("revision", "seconds", "rewritten", "locks", "rows ins/upd/del", "timeout", "downgrade")


@dataclass(frozen=True)
class Limits:
    max_rows: int
    statement_timeout_s: float


def findings(outcome: Outcome, limits: Limits) -> list[str]:
    """What makes this revision dangerous on this data; empty when nothing does."""
    if outcome.error is not None:
        if outcome.timed_out:
            return [
                f"a statement ran past the migrator's statement timeout "
                f"({limits.statement_timeout_s:g} s) and was cancelled: the deploy would fail "
                "here; split the work (backfill in batches in their own revisions)"
            ]
        return [f"failed on this data: {outcome.error}"]
    measured = outcome.measured
    assert measured is not None
    found = []
    for table in measured.rewritten:
        rows = measured.sizes[table].rows
        if rows > limits.max_rows:
            found.append(
                f"rewrites {table} ({rows:,} rows, {_size(measured.sizes[table].bytes)}) under "
                "an ACCESS EXCLUSIVE lock: every read and write of it waits until it ends; "
                "add a new column, backfill it in batches, then swap it in"
            )
    for table, mode in measured.locks.items():
        rows = measured.sizes[table].rows if table in measured.sizes else 0
        if mode == ACCESS_EXCLUSIVE and table not in measured.rewritten and rows > limits.max_rows:
            found.append(
                f"holds an ACCESS EXCLUSIVE lock on {table} ({rows:,} rows) for "
                f"{measured.seconds:.2f} s: behind a long query it queues every read and "
                "write of the table until lock_timeout; keep the revision to that one "
                "statement, and deploy it when the table is quiet"
            )
    return found


def exit_status(outcomes: list[Outcome], limits: Limits) -> int:
    return 1 if any(findings(outcome, limits) for outcome in outcomes) else 0


def as_json(outcomes: list[Outcome], limits: Limits) -> str:
    return json.dumps([_record(outcome, limits) for outcome in outcomes], indent=2)


def _record(outcome: Outcome, limits: Limits) -> dict[str, object]:
    measured = outcome.measured
    return {
        "revision": outcome.revision,
        "seconds": round(outcome.seconds, 3),
        "longest_statement_seconds": round(measured.longest_statement, 3) if measured else None,
        "passes_statement_timeout": not outcome.timed_out,
        "rewritten": [
            {"table": t, "rows": measured.sizes[t].rows, "bytes": measured.sizes[t].bytes}
            for t in measured.rewritten
        ]
        if measured
        else [],
        "locks": [{"table": t, "mode": m} for t, m in measured.locks.items()] if measured else [],
        "rows": {
            table: {"inserted": c.inserted, "updated": c.updated, "deleted": c.deleted}
            for table, c in measured.rows.items()
        }
        if measured
        else {},
        "downgrade": outcome.downgrade.verdict if outcome.downgrade else None,
        "downgrade_refused": outcome.downgrade.refused if outcome.downgrade else None,
        "error": outcome.error,
        "findings": findings(outcome, limits),
    }


def as_table(outcomes: list[Outcome], limits: Limits) -> str:
    """One row per revision, then its findings underneath."""
    rows = [HEADERS, *(_row(outcome) for outcome in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if index:
            lines += [f"  ! {finding}" for finding in findings(outcomes[index - 1], limits)]
    return "\n".join(lines)


def _row(outcome: Outcome) -> tuple[str, ...]:
    measured = outcome.measured
    seconds = f"{outcome.seconds:.3f}"
    if measured is None:
        return (outcome.revision, seconds, "-", "-", "-", _timeout(outcome), "not run: failed")
    rewritten = ", ".join(measured.rewritten) or "none"
    locks = ", ".join(f"{t} {m.removesuffix('Lock')}" for t, m in measured.locks.items())
    rows = ", ".join(f"{t} {c.inserted}/{c.updated}/{c.deleted}" for t, c in measured.rows.items())
    downgrade = outcome.downgrade.verdict if outcome.downgrade else "-"
    return (
        outcome.revision,
        seconds,
        rewritten,
        locks or "none",
        rows or "none",
        _timeout(outcome),
        downgrade,
    )


def _timeout(outcome: Outcome) -> str:
    return "EXCEEDED" if outcome.timed_out else "passes"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
