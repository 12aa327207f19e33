"""The rollback guard on a real PostgreSQL: it reads what a downgrade drops from Alembic's own
SQL, refuses to drop rows without --force, and says how far a rollback can go."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, text

from chat_backend.exit_codes import DATA_LOSS_REFUSED
from chat_backend.revisions import rollback_guard
from chat_backend.revisions.rollback_guard import Drop, downgrade_sql, drops, rows_held
from tests.alembic_support import ALEMBIC_INI, HEAD
from tests.reliability_support import SETTINGS


@pytest.fixture
def guard_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: URL) -> None:
    """`python -m chat_backend.revisions.rollback_guard` as the migrator runs it: settings from the
    environment only (no developer .env), pointed at this test's database."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)


def guard(*args: str) -> int | str | None:
    """Run the guard; its exit status."""
    with pytest.raises(SystemExit) as exited:
        rollback_guard.main([*args, "--config", str(ALEMBIC_INI)])
    return exited.value.code


def revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        found = connection.scalar(text("SELECT max(version_num) FROM alembic_version"))
    return None if found is None else str(found)


def add_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (username, email) VALUES ('ada', 'ada@example.com'), "
                "('alan', NULL)"
            )
        )
        connection.execute(
            text("INSERT INTO ai_chats (user_id) SELECT id FROM users WHERE username = 'ada'")
        )


def test_drops_are_read_from_the_downgrade_sql_alembic_renders() -> None:
    sql = downgrade_sql(str(ALEMBIC_INI), HEAD, 3)
    assert drops(sql) == [Drop("users", "email"), Drop("ai_chats"), Drop("users")]
    assert drops(downgrade_sql(str(ALEMBIC_INI), HEAD, 1)) == [Drop("users", "email")]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('DROP TABLE IF EXISTS public."Odd ""name"" table"', ['table public.Odd "name" table']),
        ("DROP TABLE a, b CASCADE", ["table a", "table b"]),
        (
            "ALTER TABLE ONLY Users DROP COLUMN IF EXISTS nick, DROP COLUMN bio",
            ["column users.nick", "column users.bio"],
        ),
        ("ALTER TABLE users DROP CONSTRAINT uq_users_email", []),
        ("DROP INDEX ix_users_email", []),
    ],
    ids=["quoted-and-qualified", "several-tables", "several-columns", "constraint", "index"],
)
def test_drop_statements_in_their_written_forms(sql: str, expected: list[str]) -> None:
    assert [str(drop) for drop in drops(f"-- Running downgrade\n{sql};\n")] == expected


def test_rows_held_counts_rows_and_non_null_values(engine: Engine) -> None:
    add_rows(engine)
    with engine.connect() as connection:
        assert rows_held(connection, Drop("users")) == 2
        assert rows_held(connection, Drop("users", "email")) == 1
        assert rows_held(connection, Drop("ai_chats")) == 1
        assert rows_held(connection, Drop("users", "no_such_column")) == 0
        assert rows_held(connection, Drop("no_such_table")) == 0


@pytest.mark.usefixtures("guard_env")
def test_refuses_to_drop_rows_and_changes_nothing(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    add_rows(engine)
    assert guard("--steps", "2", "--backup", "backups/before.dump") == DATA_LOSS_REFUSED
    assert capsys.readouterr().err == (
        "error: rollback refused: undoing 2 revision(s) from 003 drops data: column users.email "
        "(1 non-null value), table ai_chats (1 row). A backup of the database is in "
        "backups/before.dump. To drop it anyway: make rollback STEPS=2 FORCE=1\n"
    )
    assert revision(engine) == HEAD


@pytest.mark.usefixtures("guard_env")
def test_force_rolls_back_anyway(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    add_rows(engine)
    assert rollback_guard.main(["--steps", "1", "--force", "--config", str(ALEMBIC_INI)]) == 0
    assert revision(engine) == "002"
    assert "rollback: dropping column users.email (1 non-null value), as FORCE=1 asks" in (
        capsys.readouterr().err
    )


@pytest.mark.usefixtures("guard_env")
def test_empty_tables_roll_back_without_force(engine: Engine) -> None:
    assert rollback_guard.main(["--steps", "3", "--config", str(ALEMBIC_INI)]) == 0
    assert revision(engine) is None


@pytest.mark.usefixtures("guard_env")
def test_steps_past_the_first_revision_say_how_many_there_are(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert guard("--steps", "5") == 2
    assert capsys.readouterr().err == (
        "error: STEPS=5 goes past the first revision: the database is at 003, 3 revision(s) "
        "above base; undo them all with: make rollback STEPS=3\n"
    )
    assert revision(engine) == HEAD


@pytest.mark.usefixtures("guard_env")
def test_nothing_to_roll_back_at_base(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    assert guard("--steps", "1") == 2
    assert (
        "the database is at base (empty): there is nothing to roll back" in capsys.readouterr().err
    )


@pytest.mark.usefixtures("guard_env")
def test_unknown_database_revision_is_named(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '999'"))
    assert guard("--steps", "1") == 2
    assert "the database is at revision '999', which these migrations do not know" in (
        capsys.readouterr().err
    )
