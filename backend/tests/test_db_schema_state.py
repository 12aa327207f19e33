"""The database's revision against the code's head: the messages, the cache, the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, Engine, create_engine

from chat_backend.db.schema_state import (
    CheckedOutCode,
    CodeSchema,
    SchemaGuard,
    SchemaState,
    database_revision,
    load_code_schema,
)
from tests.alembic_support import ALEMBIC_INI, HEAD, NEXT, migration_config, write_revision
from tests.api_support import guard_log
from tests.reliability_support import migrations_copy

CODE = CodeSchema(head="003", revisions=frozenset({"001", "002", "003"}))


def state(revision: str | None, *, reachable: bool = True) -> SchemaState:
    return SchemaState(reachable=reachable, revision=revision, code=CODE)


def test_the_code_head_comes_from_the_migrations() -> None:
    code = load_code_schema(ALEMBIC_INI)
    assert code.head in code.revisions
    assert code.revisions == {f"{n:03d}" for n in range(1, len(code.revisions) + 1)}


def test_a_missing_alembic_ini_names_the_variable_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "alembic.ini"
    with pytest.raises(ValueError, match="ALEMBIC_CONFIG") as raised:
        load_code_schema(missing)
    assert str(missing) in str(raised.value)
    assert "run from the backend directory" in str(raised.value)


def test_an_alembic_ini_without_migrations_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "alembic.ini"
    broken.write_text("[alembic]\nscript_location = %(here)s/nowhere\n")
    with pytest.raises(ValueError, match="ALEMBIC_CONFIG") as raised:
        load_code_schema(broken)
    assert str(broken) in str(raised.value)


def test_at_head_there_is_no_problem() -> None:
    assert state("003").at_head
    assert state("003").problem is None


@pytest.mark.parametrize(
    ("current", "words"),
    [
        (state("002"), ["revision 002", "revision '003' (head)", "`make migrate`"]),
        (state(None), ["base (empty)", "`make migrate`"]),
        (state("007"), ["'007'", "phantom", "'003'", "`make migrate`"]),
        (state(None, reachable=False), ["unreachable", "POSTGRES_HOST", "DATABASE_URL"]),
    ],
)
def test_each_problem_names_the_revisions_and_the_fix(
    current: SchemaState, words: list[str]
) -> None:
    assert not current.at_head
    assert current.problem is not None
    for word in words:
        assert word in current.problem


def test_a_database_never_migrated_has_no_revision(empty_database_url: URL) -> None:
    engine = create_engine(empty_database_url)
    assert database_revision(engine) is None
    engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    with guard_log() as records:
        yield records


def test_the_guard_remembers_briefly_then_compares_again(
    engine: Engine, database_url: URL, records: list[logging.LogRecord]
) -> None:
    clock = Clock()
    guard = SchemaGuard(engine, load_code_schema(ALEMBIC_INI), max_age_s=2.0, clock=clock)
    assert guard.recent() is None
    assert guard.current().at_head
    config = migration_config(database_url)
    command.downgrade(config, "002")
    clock.now += 1.5
    assert guard.current().at_head  # still the remembered answer
    clock.now += 1.0
    assert guard.current().revision == "002"
    assert not guard.current().at_head
    command.upgrade(config, "head")
    config.attributes["connection"].dispose()
    clock.now += 2.5
    assert guard.current().at_head
    # One line per change of state, however often it was asked.
    assert [record.levelname for record in records] == ["INFO", "WARNING", "INFO"]


def test_the_guard_follows_the_checked_out_migrations(
    engine: Engine, database_url: URL, tmp_path: Path
) -> None:
    # The stack mounts the checkout: `git checkout` of a branch with one more revision changes
    # the head under a running backend, and the branch switch's `up` does not restart it.
    alembic_ini = migrations_copy(tmp_path / "checkout") / "alembic.ini"
    clock = Clock()
    guard = SchemaGuard(engine, CheckedOutCode(alembic_ini), max_age_s=2.0, clock=clock)
    assert guard.current().at_head

    versions = alembic_ini.parent / "migrations" / "versions"
    write_revision(versions, f"{NEXT}_on_a_branch.py", revision=NEXT, down_revision=HEAD)
    config = migration_config(database_url)
    config.set_main_option("script_location", str(versions.parent))
    command.upgrade(config, "head")
    config.attributes["connection"].dispose()
    clock.now += 2.5

    checked = guard.current()
    assert (checked.revision, checked.head, checked.at_head) == (NEXT, NEXT, True)
