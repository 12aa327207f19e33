"""Unsafe migrations: squawk judges the SQL each new revision would run.

Each revision's offline SQL (`alembic upgrade PARENT:REVISION --sql`) goes to squawk on its
own, so a table created by an earlier revision counts as existing (and possibly big) here.
Rules squawk does not apply to this project are excluded in .squawk.toml, with the reason;
revisions released before the gate, and findings accepted after review, are listed in
squawk-baseline.txt.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import Script

from chat_backend.revisions.checks.failure import Failure, revision_label
from chat_backend.revisions.layout import MigrationLayout

# What to write in a revision instead, for the rules a migration here is likely to break.
ALEMBIC_FIXES = {
    "require-concurrent-index-creation": (
        "use op.create_index(..., postgresql_concurrently=True) inside "
        "`with op.get_context().autocommit_block():` (a non-transactional step)"
    ),
    "require-concurrent-index-deletion": (
        "use op.drop_index(..., postgresql_concurrently=True) inside "
        "`with op.get_context().autocommit_block():`"
    ),
    "ban-concurrent-index-creation-in-transaction": (
        "move it inside `with op.get_context().autocommit_block():`; PostgreSQL refuses "
        "CONCURRENTLY inside a transaction"
    ),
    "adding-required-field": (
        "add the column nullable or with a server_default, backfill it, and make it "
        "NOT NULL in a later revision"
    ),
    "adding-not-nullable-field": (
        "add a CHECK (column IS NOT NULL) constraint with postgresql_not_valid=True, VALIDATE "
        "it in a later revision, then set nullable=False"
    ),
    "changing-column-type": (
        "add a column of the new type, backfill it and switch the code to it; drop the old "
        "column in a later release"
    ),
    "ban-drop-column": "release code that no longer uses the column before dropping it",
    "ban-drop-table": "release code that no longer uses the table before dropping it",
    "renaming-column": (
        "add the new column, backfill it and switch the code; drop the old one later"
    ),
    "renaming-table": "release code that reads both names first (e.g. through a view)",
    "constraint-missing-not-valid": (
        "create it with postgresql_not_valid=True, then run "
        "`ALTER TABLE ... VALIDATE CONSTRAINT ...` in a later revision"
    ),
    "adding-foreign-key-constraint": (
        "use op.create_foreign_key(..., postgresql_not_valid=True), then VALIDATE "
        "CONSTRAINT in a later revision"
    ),
    "disallowed-unique-constraint": (
        "create a unique index concurrently first, then "
        "`ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX ...`"
    ),
}
MAX_STATEMENT = 120


@dataclass(frozen=True)
class Baseline:
    """squawk-baseline.txt: `<revision>` skips a revision, `<revision> <rule>` accepts one
    rule in it; `#` starts a comment."""

    entries: frozenset[tuple[str, str | None]]

    @classmethod
    def read(cls, path: Path) -> Baseline:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        fields = [line.split("#", 1)[0].split() for line in lines]
        return cls(frozenset((f[0], f[1] if len(f) > 1 else None) for f in fields if f))

    def skips(self, revision: str) -> bool:
        return (revision, None) in self.entries

    def accepts(self, revision: str, rule: str) -> bool:
        return self.skips(revision) or (revision, rule) in self.entries


def check_lint(layout: MigrationLayout) -> list[Failure]:
    return lint_revisions(layout, list(layout.script().walk_revisions()))


def lint_revisions(layout: MigrationLayout, revisions: list[Script]) -> list[Failure]:
    """squawk's findings in these revisions' upgrade SQL, less what the baseline accepts."""
    baseline = Baseline.read(layout.squawk_baseline)
    revisions = [rev for rev in revisions if not baseline.skips(rev.revision)]
    failures = []
    with tempfile.TemporaryDirectory(prefix="chat-lint-") as tmp:
        sql_files = {}
        for revision in revisions:
            try:
                sql = upgrade_sql(layout, revision)
            except Exception as error:  # whatever the revision's code raises
                failures.append(_offline_failure(revision, error))
                continue
            sql_file = Path(tmp, Path(revision.path).stem + ".sql")
            sql_file.write_text(sql, encoding="utf-8")
            sql_files[sql_file.name] = (revision, sql.splitlines())
        findings = run_squawk(layout.squawk_config, sorted(Path(tmp).glob("*.sql")))
    for finding in findings:
        revision, sql_lines = sql_files[Path(finding["file"]).name]
        if _belongs_to(finding, revision, sql_lines) and not baseline.accepts(
            revision.revision, finding["rule_name"]
        ):
            failures.append(_failure(finding, revision, sql_lines))
    return failures


def upgrade_sql(layout: MigrationLayout, revision: Script) -> str:
    """The SQL `alembic upgrade PARENT:REVISION --sql` writes (the first parent of a merge)."""
    down = revision.down_revision
    parent = down[0] if isinstance(down, (tuple, list)) else down
    config = layout.config()
    config.output_buffer = io.StringIO()
    command.upgrade(config, f"{parent or 'base'}:{revision.revision}", sql=True)
    sql = config.output_buffer.getvalue()
    # What comes before the first transaction is the runtime's preamble (the timeouts and
    # the checksum table, migration_runtime.offline_preamble), not the revision's doing.
    return sql[sql.find("BEGIN;") :] if "BEGIN;" in sql else sql


def run_squawk(config: Path, sql_files: list[Path]) -> list[dict[str, Any]]:
    if not sql_files:  # squawk would read SQL from stdin instead
        return []
    # squawk from this environment, on files we wrote: no shell, nothing untrusted.
    completed = subprocess.run(  # noqa: S603
        [_squawk(), "--config", str(config), "--reporter", "json", *map(str, sql_files)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        findings: list[dict[str, Any]] = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"squawk failed: {completed.stderr.strip()}") from None
    return findings


def _squawk() -> str:
    # squawk-cli installs a binary beside the environment's Python.
    beside_python = Path(sysconfig.get_path("scripts")) / "squawk"
    found = str(beside_python) if beside_python.exists() else shutil.which("squawk")
    if found is None:
        raise RuntimeError("squawk not found: it is a dev dependency (squawk-cli); run uv sync")
    return found


def _offline_failure(revision: Script, error: Exception) -> Failure:
    return Failure(
        revision_label(revision.revision, revision.path),
        "offline-sql",
        f"`alembic upgrade --sql` cannot render it, so squawk cannot judge it: {error!r}",
        "keep upgrade() to op.* calls that need no answer from the database (no "
        "op.get_bind() queries); data changes belong in op.execute(...) SQL",
    )


def _belongs_to(finding: dict[str, Any], revision: Script, sql_lines: list[str]) -> bool:
    """False for findings in SQL that runs before this revision's own: Alembic's version table
    at base, or the other branch of a merge (each is judged as its own revision)."""
    marker = re.compile(rf"-- Running upgrade .*-> {re.escape(revision.revision)}$")
    start = next((n for n, line in enumerate(sql_lines) if marker.match(line)), 0)
    return int(finding["line"]) >= start


def _failure(finding: dict[str, Any], revision: Script, sql_lines: list[str]) -> Failure:
    rule = finding["rule_name"]
    lines = sql_lines[finding["line"] : finding["line_end"] + 1]
    statement = " ".join(line.strip() for line in lines).rstrip(";")
    if len(statement) > MAX_STATEMENT:
        statement = statement[: MAX_STATEMENT - 1] + "…"
    fix = ALEMBIC_FIXES.get(rule) or finding.get("help") or f"see squawkhq.com/docs/{rule}"
    return Failure(
        revision_label(revision.revision, revision.path),
        f"squawk {rule}",
        f"{finding['message'].rstrip('.')}: `{statement}`",
        f'{fix}; once reviewed, accept it by adding "{revision.revision} {rule}" to '
        "squawk-baseline.txt",
    )
