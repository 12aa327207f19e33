"""The command line the Makefile's migration gate targets call."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL

from chat_backend.revisions.cli import main
from chat_backend.revisions.head_file import write_head_file
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import BACKEND_DIR
from tests.checks_support import REAL, add_revision, copy_project
from tests.reliability_support import COMMAND_TIMEOUT_S, command_env


@pytest.fixture
def project(tmp_path: Path) -> MigrationLayout:
    return copy_project(tmp_path)


@pytest.fixture
def throwaway_on_test_server(server_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """Throwaway databases on the tests' server, instead of a server of their own."""
    monkeypatch.setenv("TEST_DATABASE_URL", server_url.render_as_string(hide_password=False))


def run(layout: MigrationLayout, *args: str) -> int:
    return main(["--config", str(layout.alembic_ini), *args])


def test_revision_writes_the_next_file(
    project: MigrationLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, "revision", "--message", "add phone") == 0
    assert capsys.readouterr().out.endswith(f"wrote {project.versions_dir / '004_add_phone.py'}\n")


@pytest.mark.usefixtures("throwaway_on_test_server")
def test_autogenerate_says_when_there_is_nothing_to_write(
    project: MigrationLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, "revision", "--message", "nothing", "--autogenerate") == 0
    assert "nothing to autogenerate, no file written" in capsys.readouterr().out


def test_sql_prints_a_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(REAL, "sql", "--from", "002", "--to", "003") == 0
    out = capsys.readouterr().out
    assert "ALTER TABLE users ADD COLUMN email VARCHAR(255);" in out
    assert "CREATE TABLE ai_chats" not in out


@pytest.mark.usefixtures("throwaway_on_test_server")
def test_check_fails_with_one_error_line_per_problem(
    project: MigrationLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    add_revision(
        project,
        "004_drop.py",
        revision="004",
        down_revision="003",
        upgrade='op.drop_column("users", "last_login_at")',
        downgrade='op.add_column("users", sa.Column("last_login_at", sa.TIMESTAMP(True)))',
    )
    write_head_file(project.script())  # as `make revision` does
    assert run(project, "check") == 1
    captured = capsys.readouterr()
    assert "FAIL  squawk lint of new revisions" in captured.out
    assert "FAIL  models match migrations (alembic check)" in captured.out
    assert "error: revision 004 (004_drop.py): squawk ban-drop-column: " in captured.err
    assert captured.err.endswith("make check: 3 problem(s), listed above\n")


@pytest.mark.usefixtures("throwaway_on_test_server")
def test_schema_rewrites_the_committed_file(project: MigrationLayout) -> None:
    project.schema_sql.unlink()
    assert run(project, "schema") == 0
    assert project.schema_sql.read_text() == REAL.schema_sql.read_text()


def test_applied_checks_the_configured_database(
    database_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url.render_as_string(hide_password=False))
    assert run(REAL, "applied") == 0
    assert "ok    applied revisions unchanged (checksums)" in capsys.readouterr().out


def test_make_applied_names_a_revision_edited_after_the_database_ran_it(
    project: MigrationLayout, empty_database_url: URL
) -> None:
    command.upgrade(project.config(empty_database_url), "head")
    env = command_env(empty_database_url, ALEMBIC_CONFIG=str(project.alembic_ini))

    def make_applied() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "applied"],
            cwd=BACKEND_DIR.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )

    unchanged = make_applied()
    assert unchanged.returncode == 0, unchanged.stderr
    assert "ok    applied revisions unchanged (checksums)" in unchanged.stdout

    path = project.versions_dir / "003_add_email_to_users.py"
    path.write_text(path.read_text().replace("String(length=255)", "String(length=320)"))
    edited = make_applied()
    assert edited.returncode != 0
    assert "FAIL  applied revisions unchanged (checksums)" in edited.stdout
    assert "error: revision 003 (003_add_email_to_users.py)" in edited.stderr
    assert '\n-        sa.Column("email", sa.String(length=255)' in edited.stderr
    assert '\n+        sa.Column("email", sa.String(length=320)' in edited.stderr


def test_a_missing_alembic_ini_exits_2_and_says_where_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(tmp_path / "alembic.ini"), "check"])
    assert exited.value.code == 2
    assert "ALEMBIC_CONFIG: no Alembic config at" in capsys.readouterr().err


def test_an_unknown_revision_exits_2_with_alembics_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(REAL, "sql", "--from", "003", "--to", "999")
    assert exited.value.code == 2
    assert "error: " in capsys.readouterr().err
