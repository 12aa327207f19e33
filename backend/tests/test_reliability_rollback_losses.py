"""The rollback guard counts what a downgrade really loses, on a real PostgreSQL: revisions
that rename, cascade, drop a schema or a type, or delete rows; and two real rollback processes
started at the same instant cannot both pass on the same count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.migration_runtime import LOCK_KEY
from chat_backend.exit_codes import DATA_LOSS_REFUSED
from chat_backend.revisions import rollback_guard
from tests.alembic_support import write_revision
from tests.reliability_support import (
    COMMAND_TIMEOUT_S,
    SETTINGS,
    command_env,
    migrations_copy,
)
from tests.waiting import wait_until

# Later revisions of the test's own copy of the migrations, on top of the real 003, each with
# the rows it is given and the rollback (STEPS) that would lose them.
CASES = {
    "column-renamed-by-a-later-revision": (
        [
            (
                "004",
                "op.alter_column('users', 'email', new_column_name='contact_email')",
                "op.alter_column('users', 'contact_email', new_column_name='email')",
            )
        ],
        "SELECT 1",
        2,
        "column users.contact_email (1 non-null value)",
    ),
    "drop-schema-cascade": (
        [
            (
                "004",
                "op.execute('CREATE SCHEMA archive; CREATE TABLE archive.notes (body text)')",
                "op.execute('DROP SCHEMA archive CASCADE')",
            )
        ],
        "INSERT INTO archive.notes VALUES ('keep'), ('these')",
        1,
        "table archive.notes (2 rows)",
    ),
    "drop-type-cascade": (
        [
            (
                "004",
                "op.execute(\"CREATE TYPE mood AS ENUM ('calm', 'busy'); "
                'ALTER TABLE users ADD COLUMN mood mood")',
                "op.execute('DROP TYPE mood CASCADE')",
            )
        ],
        "UPDATE users SET mood = 'calm' WHERE username = 'ada'",
        1,
        "column users.mood (1 non-null value)",
    ),
    "rows-deleted-by-a-downgrade": (
        [("004", "pass", "op.execute(\"DELETE FROM users WHERE username = 'ada'\")")],
        "SELECT 1",
        1,
        "table users (1 of 2 rows deleted)",
    ),
}


# Downgrades that keep every column but not its values: refused for what they change, unless
# FORCE=1. 004 makes the table and its rows; 005's downgrade is the one judged.
CHANGES = {
    "numeric-to-integer": (
        "op.execute('CREATE TABLE prices (amount numeric)')",
        "INSERT INTO prices VALUES (1.25), (2.5)",
        "op.execute('ALTER TABLE prices ALTER COLUMN amount TYPE integer')",
        "column prices.amount",
    ),
    "text-cut-to-a-length": (
        "op.execute('CREATE TABLE notes (body text)')",
        "INSERT INTO notes VALUES ('a long note'), ('ok')",
        "op.execute('ALTER TABLE notes ALTER COLUMN body TYPE varchar(3) USING left(body, 3)')",
        "column notes.body",
    ),
    "jsonb-keys-stripped": (
        "op.execute('CREATE TABLE docs (body jsonb)')",
        """INSERT INTO docs VALUES ('{"keep": 1, "extra": 2}')""",
        "op.execute(\"UPDATE docs SET body = body - 'extra'\")",
        "column docs.body",
    ),
}


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    return migrations_copy(tmp_path / "migrations-copy")


def add_revisions(migrations: Path, revisions: list[tuple[str, str, str]]) -> None:
    down = "003"
    for revision, upgrade, downgrade in revisions:
        write_revision(
            migrations / "migrations" / "versions",
            f"{revision}_test.py",
            revision=revision,
            down_revision=down,
            upgrade=upgrade,
            downgrade=downgrade,
        )
        down = revision


def upgrade(url: URL, migrations: Path) -> None:
    config = Config(str(migrations / "alembic.ini"))
    config.attributes["connection"] = create_engine(url, poolclass=NullPool)
    command.upgrade(config, "head")


def sql(engine: Engine, statement: str) -> object:
    with engine.begin() as connection:
        result = connection.execute(text(statement))
        return result.scalar() if result.returns_rows else None


@pytest.fixture
def guard_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: URL) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("guard_env")
@pytest.mark.parametrize("case", list(CASES))
def test_a_loss_no_drop_statement_names_is_refused_and_nothing_changes(
    case: str,
    migrations: Path,
    database_url: URL,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    revisions, rows, steps, expected = CASES[case]
    sql(engine, "INSERT INTO users (username, email) VALUES ('ada', 'a@x'), ('alan', NULL)")
    add_revisions(migrations, revisions)
    upgrade(database_url, migrations)
    sql(engine, rows)
    before = sql(engine, "SELECT md5(string_agg(u::text, '|' ORDER BY id)) FROM users u")

    with pytest.raises(SystemExit) as exited:
        rollback_guard.main(["--steps", str(steps), "--config", str(migrations / "alembic.ini")])

    assert exited.value.code == DATA_LOSS_REFUSED
    err = capsys.readouterr().err
    assert f"drops data: {expected}; nothing was changed." in err, err
    assert sql(engine, "SELECT version_num FROM alembic_version") == revisions[-1][0]
    assert sql(engine, "SELECT md5(string_agg(u::text, '|' ORDER BY id)) FROM users u") == before


def rollback_process(url: URL, migrations: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chat_backend.revisions.rollback_guard",
            "--steps",
            "1",
            "--config",
            str(migrations / "alembic.ini"),
        ],
        cwd=migrations,
        env=command_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_rollbacks_at_once_cannot_both_pass(
    migrations: Path, database_url: URL, engine: Engine
) -> None:
    """004 holds rows, 005 is empty: one `make rollback` may undo 005; a second one started at
    the same instant must count from 004, and refuse."""
    add_revisions(
        migrations,
        [
            ("004", "op.execute('CREATE TABLE notes (body text)')", "op.drop_table('notes')"),
            ("005", "op.execute('CREATE TABLE scratch (x int)')", "op.drop_table('scratch')"),
        ],
    )
    upgrade(database_url, migrations)
    sql(engine, "INSERT INTO notes VALUES ('keep me')")
    waiting = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        holder.commit()
        first, second = (rollback_process(database_url, migrations) for _ in range(2))
        wait_until(lambda: sql(engine, waiting) == 2, "both rollbacks to wait for the lock")
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        holder.commit()
        results = [process.communicate(timeout=COMMAND_TIMEOUT_S) for process in (first, second)]

    statuses = sorted(process.returncode for process in (first, second))
    assert statuses == [0, 3], results
    refusal = next(
        err
        for process, (_, err) in zip((first, second), results, strict=True)
        if process.returncode
    )
    assert "undoing 1 revision(s) from 004 to 003 drops data: table notes (1 row)" in refusal
    assert sql(engine, "SELECT version_num FROM alembic_version") == "004"
    assert sql(engine, "SELECT count(*) FROM notes") == 1


@pytest.mark.usefixtures("guard_env")
def test_a_failing_downgrade_changes_nothing_and_says_so(
    migrations: Path, database_url: URL, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    add_revisions(
        migrations,
        [
            ("004", "op.execute('CREATE TABLE notes (body text)')", "op.drop_table('notes')"),
            ("005", "pass", "op.execute('SELECT 1 / 0')"),
        ],
    )
    upgrade(database_url, migrations)

    with pytest.raises(SystemExit) as exited:
        rollback_guard.main(["--steps", "2", "--config", str(migrations / "alembic.ini")])

    assert exited.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1
    assert "division by zero" in errors[0]
    assert sql(engine, "SELECT version_num FROM alembic_version") == "005"
    assert sql(engine, "SELECT to_regclass('notes') IS NOT NULL") is True


@pytest.mark.usefixtures("guard_env")
def test_a_downgrade_that_cannot_run_in_a_transaction_changes_nothing(
    migrations: Path, database_url: URL, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """An autocommit block (CREATE INDEX CONCURRENTLY) would commit halfway: the guard cannot
    judge such a downgrade in one transaction, so it fails and changes nothing."""
    add_revisions(
        migrations,
        [
            (
                "004",
                "op.execute('CREATE TABLE notes (body text)')",
                """
                with op.get_context().autocommit_block():
                    op.execute('CREATE INDEX CONCURRENTLY ix_users_created ON users (id)')
                op.drop_table('notes')
                """,
            )
        ],
    )
    upgrade(database_url, migrations)

    with pytest.raises(SystemExit) as exited:
        rollback_guard.main(["--steps", "1", "--config", str(migrations / "alembic.ini")])

    assert exited.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1, errors
    assert sql(engine, "SELECT version_num FROM alembic_version") == "004"
    assert sql(engine, "SELECT to_regclass('notes') IS NOT NULL") is True
    assert sql(engine, "SELECT to_regclass('ix_users_created') IS NULL") is True


@pytest.mark.usefixtures("guard_env")
@pytest.mark.parametrize("case", list(CHANGES))
def test_values_changed_in_a_kept_column_are_refused_unless_forced(
    case: str,
    migrations: Path,
    database_url: URL,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create, rows, downgrade, column = CHANGES[case]
    add_revisions(migrations, [("004", create, "pass"), ("005", "pass", downgrade)])
    upgrade(database_url, migrations)
    sql(engine, rows)
    table = column.split()[1].split(".")[0]
    digest = f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"  # noqa: S608
    before = sql(engine, digest)
    config = ["--config", str(migrations / "alembic.ini")]

    with pytest.raises(SystemExit) as exited:
        rollback_guard.main(["--steps", "1", *config])

    assert exited.value.code == DATA_LOSS_REFUSED
    err = capsys.readouterr().err
    assert f"changes data: {column} (values changed in place); nothing was changed." in err, err
    assert sql(engine, "SELECT version_num FROM alembic_version") == "005"
    assert sql(engine, digest) == before

    assert rollback_guard.main(["--steps", "1", "--force", *config]) == 0
    assert sql(engine, "SELECT version_num FROM alembic_version") == "004"


@pytest.mark.usefixtures("guard_env")
def test_a_type_change_that_keeps_every_value_needs_no_force(
    migrations: Path, database_url: URL, engine: Engine
) -> None:
    add_revisions(
        migrations,
        [
            ("004", "op.execute('CREATE TABLE counts (n bigint)')", "pass"),
            ("005", "pass", "op.execute('ALTER TABLE counts ALTER COLUMN n TYPE integer')"),
        ],
    )
    upgrade(database_url, migrations)
    sql(engine, "INSERT INTO counts VALUES (1), (2), (3)")

    assert rollback_guard.main(["--steps", "1", "--config", str(migrations / "alembic.ini")]) == 0
    assert sql(engine, "SELECT version_num FROM alembic_version") == "004"


# Downgrades that try to leave the guard's one transaction: the old idiom for statements that
# cannot run in a transaction, and a ROLLBACK followed by more work in the same string.
ESCAPES = {
    "commit": (
        "op.drop_column('users', 'nick'); op.execute('COMMIT')",
        "ran COMMIT inside a transaction that must stay whole",
    ),
    "commit-first": (
        "op.execute('COMMIT'); op.drop_column('users', 'nick')",
        "ran COMMIT inside a transaction that must stay whole",
    ),
    "rollback-then-drop": (
        "op.execute('ROLLBACK; ALTER TABLE users DROP COLUMN nick')",
        "read-only transaction",
    ),
    "rollback-alone": (
        "op.execute('ROLLBACK'); op.drop_column('users', 'nick')",
        "ended the transaction that must stay whole",
    ),
}


@pytest.mark.usefixtures("guard_env")
@pytest.mark.parametrize("case", list(ESCAPES))
def test_a_downgrade_that_leaves_the_transaction_changes_nothing(
    case: str,
    migrations: Path,
    database_url: URL,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    downgrade, said = ESCAPES[case]
    add_revisions(
        migrations, [("004", "op.execute('ALTER TABLE users ADD COLUMN nick text')", downgrade)]
    )
    upgrade(database_url, migrations)
    sql(engine, "INSERT INTO users (username, nick) VALUES ('ada', 'countess')")

    with pytest.raises(SystemExit) as exited:
        rollback_guard.main(
            ["--steps", "1", "--force", "--config", str(migrations / "alembic.ini")]
        )

    assert exited.value.code == 1
    [line] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert said in line, line
    assert "the database is unchanged" in line or "stays at revision 004" in line, line
    assert sql(engine, "SELECT nick FROM users") == "countess"
    assert sql(engine, "SELECT version_num FROM alembic_version") == "004"
    assert sql(engine, "SHOW default_transaction_read_only") == "off"
