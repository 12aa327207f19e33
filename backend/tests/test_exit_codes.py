"""Each exit code means one thing, and the shell scripts that act on one use its value."""

from __future__ import annotations

import re

from chat_backend import exit_codes
from tests.alembic_support import BACKEND_DIR

RESET_SCRIPT = BACKEND_DIR.parent / "scripts" / "reset-db.sh"


def codes() -> dict[str, int]:
    return {name: value for name, value in vars(exit_codes).items() if name.isupper()}


def test_every_code_has_one_meaning() -> None:
    by_value: dict[int, list[str]] = {}
    for name, value in codes().items():
        by_value.setdefault(value, []).append(name)

    shared = {value: names for value, names in by_value.items() if len(names) > 1}
    assert not shared, f"exit codes with two meanings in chat_backend/exit_codes.py: {shared}"


def test_the_reset_script_waits_for_the_no_template_code() -> None:
    assignment = re.search(r"^no_template=(\d+)", RESET_SCRIPT.read_text(), re.MULTILINE)

    assert assignment is not None, f"{RESET_SCRIPT.name} no longer sets no_template"
    assert int(assignment.group(1)) == exit_codes.NO_TEMPLATE
