"""`make plan`'s output: lines for a person, or one JSON document for tools (format=json)."""

from __future__ import annotations

import json
from typing import Any

from chat_backend.revisions.checks.failure import Failure
from chat_backend.revisions.migration_plan import Downgrade, Link, MigrationPlan, Upgrade
from chat_backend.revisions.stored_downgrades import FOUND_HOW, Drop

NEXT_UP = "The next `docker compose up` (or `make migrate`)"
DATA_LOSS = (
    "not refused: the migrator snapshots the database before it rolls phantoms back, and "
    "`make restore name=phantoms-...` (the name it logs) brings the data back"
)
NOT_JUDGED_DOWN = (
    "not judged: its SQL is known only by running its stored source, which make plan does not run"
)


def as_text(plan: MigrationPlan) -> str:
    at = ", ".join(plan.database_heads) or "base (empty)"
    lines = [
        f"database {plan.database} (APP_ENV={plan.app_env}) is at {at}; this checkout's head: "
        f"{', '.join(plan.checkout_heads) or 'none'}",
        *(f"  {link.revision:<5} {link.state:<8} {_file(link)}" for link in plan.chain),
    ]
    if plan.refusal is not None:
        lines += [f"{NEXT_UP} would stop before changing anything:", f"  {plan.refusal}"]
    elif plan.changes_nothing:
        lines.append(f"{NEXT_UP} would change nothing: the database is at this checkout's head.")
    else:
        lines.append(f"{NEXT_UP} would:")
        down = _down_lines(plan.down, plan.source_key_file)
        lines += down + _up_lines(plan.up, after=bool(plan.down))
    if plan.down and plan.refusal is None:
        lines.append(f"Refused for data loss? {DATA_LOSS}. The drops above are {FOUND_HOW}.")
    lines.append("make plan changed nothing.")
    return "\n".join(lines)


def as_json(plan: MigrationPlan) -> str:
    document: dict[str, Any] = {
        "database": {
            "name": plan.database,
            "app_env": plan.app_env,
            "source_key_file": plan.source_key_file,
            "heads": plan.database_heads,
        },
        "checkout": {"heads": plan.checkout_heads},
        "chain": [vars(link) for link in plan.chain],
        "refusal": plan.refusal,
        "changes_nothing": plan.changes_nothing,
        "down": [_downgrade(downgrade) for downgrade in plan.down],
        "up": [_upgrade(upgrade) for upgrade in plan.up],
        "data_loss": {"refused": False, "why": DATA_LOSS} if plan.down else None,
    }
    return json.dumps(document, indent=2)


_PHANTOM = "not in this checkout (applied from another branch)"
_DIFFERS = "the database ran another source under this number: `make applied` shows the diff"


def _file(link: Link) -> str:
    if link.file is None:
        return _PHANTOM
    return f"{link.file} ({_DIFFERS})" if link.differs else link.file


def _down_lines(down: list[Downgrade], key_file: str) -> list[str]:
    if not down:
        return []
    lines = ["  roll back, newest first, each from its stored source, after a snapshot:"]
    for downgrade in down:
        dropped = ", ".join(map(str, downgrade.drops)) or "no table or column, as far as known"
        lines += [
            f"    {downgrade.revision:<5} drops {dropped}",
            f"          squawk: {NOT_JUDGED_DOWN}",
        ]
        if not downgrade.proven:
            lines.append(f"          {_proof(downgrade, key_file)}")
    return lines


def _proof(downgrade: Downgrade, key_file: str) -> str:
    said = (
        f"not checked: there is no key at {key_file} (MIGRATION_SOURCE_KEY_FILE) here"
        if downgrade.proven is None
        else f"the key at {key_file} (MIGRATION_SOURCE_KEY_FILE) does not prove its stored source"
    )
    return f"proof: {said}; the migrator runs only a source its own key proves, and stops otherwise"


def _up_lines(up: list[Upgrade], *, after: bool) -> list[str]:
    if not up:
        return []
    lines = [f"  {'then ' if after else ''}upgrade, oldest first:"]
    for upgrade in up:
        lines.append(f"    {upgrade.revision:<5} {upgrade.file}")
        if not upgrade.judged:
            lines.append("          squawk: not judged (squawk-baseline.txt skips it)")
        elif not upgrade.findings:
            lines.append("          squawk: no findings")
        lines += [f"          {_finding(finding)}" for finding in upgrade.findings]
    return lines


def _finding(finding: Failure) -> str:
    return f"{finding.rule}: {finding.problem}; {finding.fix}"


def _downgrade(downgrade: Downgrade) -> dict[str, Any]:
    return {
        "revision": downgrade.revision,
        "source_stored": downgrade.source_stored,
        "proven": downgrade.proven,
        "drops": [_drop(drop) for drop in downgrade.drops],
        "drops_found": FOUND_HOW,
        "squawk": None,
        "squawk_not_judged": NOT_JUDGED_DOWN,
    }


def _drop(drop: Drop) -> dict[str, Any]:
    return {
        "schema": drop.schema,
        "table": drop.table,
        "column": drop.column,
        "holds": drop.holds,
        "unit": drop.unit,
    }


def _upgrade(upgrade: Upgrade) -> dict[str, Any]:
    return {
        "revision": upgrade.revision,
        "file": upgrade.file,
        "squawk": [_finding_json(finding) for finding in upgrade.findings]
        if upgrade.judged
        else None,
    }


def _finding_json(finding: Failure) -> dict[str, str]:
    rule = finding.rule.removeprefix("squawk ")
    return {"rule": rule, "problem": finding.problem, "fix": finding.fix}
