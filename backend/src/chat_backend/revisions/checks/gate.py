"""The gate behind `make check`: every guard, in an order where each can trust the ones before.

Numbering and heads come first: with a duplicate id Alembic silently keeps one file, and with
two heads `upgrade head` means nothing, so nothing after them could be trusted. The HEAD file
comes next (after a merge conflict on it, numbering has already said `make renumber`). The
lint needs no database. The rest runs on a disposable database that the stairway leaves at head.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import URL

from chat_backend.revisions.checks.applied import check_applied
from chat_backend.revisions.checks.drift import check_drift
from chat_backend.revisions.checks.failure import Failure
from chat_backend.revisions.checks.head_file import check_head_file
from chat_backend.revisions.checks.heads import check_single_head
from chat_backend.revisions.checks.lint import check_lint
from chat_backend.revisions.checks.numbering import check_numbering
from chat_backend.revisions.checks.schema_dump import check_schema_file
from chat_backend.revisions.checks.stairway import check_stairway
from chat_backend.revisions.layout import MigrationLayout

# Told each guard's name and failures as soon as it has run.
Report = Callable[[str, list[Failure]], None]
Database = Callable[[], AbstractContextManager[URL]]


def run_gate(layout: MigrationLayout, database: Database, report: Report) -> list[Failure]:
    """Every failure found; `database` gives an empty database that may be thrown away."""
    failures: list[Failure] = []

    def passed(name: str, found: list[Failure]) -> bool:
        report(name, found)
        failures.extend(found)
        return not found

    if not passed("revision numbering", check_numbering(layout.versions_dir)):
        return failures
    script = layout.script()
    if not passed("single head", check_single_head(script)):
        return failures
    passed("versions/HEAD names the head", check_head_file(script))
    passed("squawk lint of new revisions", check_lint(layout))
    head = script.get_revision("head")
    assert head is not None
    with database() as url:
        config = layout.config(url)
        if passed("stairway: each revision up, down, up again", check_stairway(config)):
            passed("models match migrations (alembic check)", check_drift(config))
            passed("applied revisions unchanged (checksums)", check_applied(layout, url))
            passed(
                "db/schema.sql up to date",
                check_schema_file(layout.schema_sql, url, head.revision, head.path),
            )
    return failures
