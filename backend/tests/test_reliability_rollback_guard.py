"""The rollback guard on a real PostgreSQL: it counts what a downgrade loses, refuses to drop
rows without --force, and says how far a rollback can go."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, text

from chat_backend.exit_codes import DATA_LOSS_REFUSED
from chat_backend.revisions import rollback_guard
from chat_backend.revisions.rollback_guard import holdings
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


def test_holdings_count_rows_and_non_null_values_by_catalog_identity(engine: Engine) -> None:
    add_rows(engine)
    with engine.connect() as connection:
        held = {str(item): item.count for item in holdings(connection).values()}
    assert held["table users"] == 2
    assert held["column users.email"] == 1
    assert held["table ai_chats"] == 1
    assert not any("alembic_version" in name for name in held)


@pytest.mark.usefixtures("guard_env")
def test_refuses_to_drop_rows_and_changes_nothing(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    add_rows(engine)
    steps = int(HEAD) - 1  # down to 001: users.email (003) and ai_chats (002) go
    assert guard("--steps", str(steps), "--backup", "backups/before.dump") == DATA_LOSS_REFUSED
    # Alembic's progress lines come first: the downgrade ran, and was rolled back.
    assert capsys.readouterr().err.splitlines(keepends=True)[-1] == (
        f"error: rollback refused: undoing {steps} revision(s) from {HEAD} to 001 drops data: "
        "column users.email (1 non-null value), table ai_chats (1 row); nothing was changed. A "
        "backup of the database is in backups/before.dump. To drop it anyway: make rollback "
        f"STEPS={steps} FORCE=1\n"
    )
    assert revision(engine) == HEAD


@pytest.mark.usefixtures("guard_env")
def test_force_rolls_back_anyway(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    add_rows(engine)
    steps = str(int(HEAD) - 2)  # down to 002: users.email (003) goes
    assert rollback_guard.main(["--steps", steps, "--force", "--config", str(ALEMBIC_INI)]) == 0
    assert revision(engine) == "002"
    assert "rollback: dropping column users.email (1 non-null value), as FORCE=1 asks" in (
        capsys.readouterr().err
    )


@pytest.mark.usefixtures("guard_env")
def test_empty_tables_roll_back_without_force(engine: Engine) -> None:
    assert rollback_guard.main(["--steps", str(int(HEAD)), "--config", str(ALEMBIC_INI)]) == 0
    assert revision(engine) is None


@pytest.mark.usefixtures("guard_env")
def test_steps_past_the_first_revision_say_how_many_there_are(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    past = int(HEAD) + 2
    assert guard("--steps", str(past)) == 2
    assert capsys.readouterr().err == (
        f"error: STEPS={past} goes past the first revision: the database is at {HEAD}, "
        f"{int(HEAD)} revision(s) above base; undo them all with: make rollback STEPS={int(HEAD)}\n"
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
