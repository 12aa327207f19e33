"""`make plan` on a real PostgreSQL: the database's chain against the checkout's, the
rollbacks and upgrades the next `up` would run with squawk's findings, what a rollback would
drop, the migrator's refusals; as text and as JSON; and nothing changed."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.revisions.cli import main
from chat_backend.revisions.files import next_revision_id
from chat_backend.revisions.head_file import write_head_file
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import BACKEND_DIR, HEAD
from tests.checks_support import add_revision, copy_project
from tests.reliability_support import COMMAND_TIMEOUT_S, command_env

NOTES = (
    'op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True), '
    'sa.Column("body", sa.Text()))',
    'op.drop_table("notes")',
)
DROP_LAST_LOGIN = (
    'op.drop_column("users", "last_login_at")',
    'op.add_column("users", sa.Column("last_login_at", sa.TIMESTAMP(timezone=True)))',
)
PROJECT_LABEL = "com.docker.compose.project"
# What must not change while make plan runs: the chain, the rows, and no snapshot database.
# The databases named after this one (its snapshots and parked copies), not the server's:
# other workers' tests create and drop theirs on a shared server (the dev container's db).
STATE = (
    "SELECT (SELECT string_agg(version_num, ',') FROM alembic_version), "
    "(SELECT count(*) FROM notes), "
    "(SELECT count(*) FROM pg_database WHERE starts_with(datname, current_database()))"
)


@dataclass
class Switched:
    """The database ran a feature branch's `notes` revision (2 rows), then the checkout went
    back to a branch that lacks it and has a revision of its own."""

    layout: MigrationLayout
    url: URL
    phantom: str
    pending: str

    def plan(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        capsys.readouterr()
        assert main(["--config", str(self.layout.alembic_ini), "plan", *args]) == 0
        return capsys.readouterr().out

    def state(self) -> tuple[object, ...]:
        engine = create_engine(self.url, poolclass=NullPool)
        with engine.connect() as connection:
            row = tuple(connection.execute(text(STATE)).one())
        engine.dispose()
        return row


@pytest.fixture
def switched(tmp_path: Path, empty_database_url: URL, monkeypatch: pytest.MonkeyPatch) -> Switched:
    monkeypatch.setenv("DATABASE_URL", empty_database_url.render_as_string(hide_password=False))
    monkeypatch.setenv("APP_ENV", "development")
    layout = copy_project(tmp_path)
    phantom = next_revision_id(layout.versions_dir)
    feature = add_revision(
        layout,
        f"{phantom}_add_notes.py",
        revision=phantom,
        down_revision=HEAD,
        upgrade=NOTES[0],
        downgrade=NOTES[1],
    )
    command.upgrade(layout.config(empty_database_url), "head")
    engine = create_engine(empty_database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notes (body) VALUES ('one'), ('two')"))
    engine.dispose()
    feature.unlink()  # git checkout main
    pending = f"{int(phantom) + 1:03d}"
    add_revision(
        layout,
        f"{pending}_drop_last_login.py",
        revision=pending,
        down_revision=HEAD,
        upgrade=DROP_LAST_LOGIN[0],
        downgrade=DROP_LAST_LOGIN[1],
    )
    write_head_file(layout.script())
    return Switched(layout, empty_database_url, phantom, pending)


def test_the_plan_names_the_phantom_rollback_and_the_pending_upgrade_with_squawk(
    switched: Switched, capsys: pytest.CaptureFixture[str]
) -> None:
    before = switched.state()

    output = switched.plan(capsys)

    assert switched.state() == before
    p, n = switched.phantom, switched.pending
    lines = output.splitlines()
    assert lines[0].endswith(f"(APP_ENV=development) is at {p}; this checkout's head: {n}")
    assert f"  {HEAD:<5} applied  " in output
    assert f"  {p:<5} phantom  not in this checkout (applied from another branch)" in lines
    assert f"  {n:<5} pending  {n}_drop_last_login.py" in lines
    assert "The next `docker compose up` (or `make migrate`) would:" in lines
    assert f"    {p:<5} drops table notes (2 rows)" in lines
    assert "  then upgrade, oldest first:" in lines
    assert any(
        line.startswith("          squawk ban-drop-column: ") and "last_login_at" in line
        for line in lines
    )
    assert lines[-2].startswith("Refused for data loss? not refused: the migrator snapshots")
    assert lines[-1] == "make plan changed nothing."


def test_the_json_plan_says_the_same_for_tools(
    switched: Switched, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = json.loads(switched.plan(capsys, "--format", "json"))

    p, n = switched.phantom, switched.pending
    assert plan["database"]["heads"] == [p]
    assert plan["checkout"]["heads"] == [n]
    states = {link["revision"]: link["state"] for link in plan["chain"]}
    assert (states[HEAD], states[p], states[n]) == ("applied", "phantom", "pending")
    [down] = plan["down"]
    assert down["revision"] == p
    assert (down["source_stored"], down["proven"]) == (True, True)
    assert down["drops"] == [
        {"schema": "public", "table": "notes", "column": None, "holds": 2, "unit": "rows"}
    ]
    [up] = [step for step in plan["up"] if step["revision"] == n]
    assert [finding["rule"] for finding in up["squawk"]] == ["ban-drop-column"]
    assert plan["refusal"] is None
    assert plan["data_loss"]["refused"] is False


def test_in_production_the_plan_is_the_migrators_refusal(
    switched: Switched,
    production_login: URL,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    url = production_login.set(database=switched.url.database)
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    output = switched.plan(capsys).splitlines()
    [stop] = [i for i, line in enumerate(output) if "would stop before changing anything" in line]
    assert output[stop + 1].startswith(
        "  refusing to replace, delete or roll back data when APP_ENV is 'production'"
    )
    assert not any("data loss" in line for line in output)


def test_a_database_at_head_changes_nothing(
    database_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url.render_as_string(hide_password=False))
    assert main(["plan"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == (
        "The next `docker compose up` (or `make migrate`) would change nothing: the database "
        "is at this checkout's head."
    )


def test_make_plan_format_json_goes_through_the_makefile(database_url: URL) -> None:
    volumes = docker_volumes()
    made = subprocess.run(
        ["make", "--silent", "plan", "format=json"],
        cwd=BACKEND_DIR.parent,
        env=command_env(database_url),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    plan = json.loads(made.stdout)
    assert plan["changes_nothing"] is True
    assert {link["state"] for link in plan["chain"]} == {"applied"}
    # No stack runs for this checkout: the key is not borrowed from a one-off container, which
    # would have created the stack's volumes (and built its image) for nothing.
    assert docker_volumes() == volumes


def test_an_unknown_format_is_one_line_and_exit_2(
    database_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url.render_as_string(hide_password=False))
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--format", "xml"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "error: format: 'xml' is not a format of make plan: use format=json, or none\n"
    )


def test_a_stored_source_the_key_does_not_prove_is_said_so(
    switched: Switched, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(switched.url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version_checksums SET source = source || '# planted' "),
        )
    engine.dispose()

    lines = switched.plan(capsys).splitlines()

    assert any(
        line.startswith("          proof: the key at ")
        and line.endswith(
            "(MIGRATION_SOURCE_KEY_FILE) does not prove its stored source; the migrator runs "
            "only a source its own key proves, and stops otherwise"
        )
        for line in lines
    )


def test_an_applied_revision_run_from_another_source_is_marked(
    switched: Switched, capsys: pytest.CaptureFixture[str]
) -> None:
    """Main's own revision under the number the feature branch's phantom holds: the database
    says it is applied, but it ran the other branch's source."""
    pending = switched.layout.versions_dir / f"{switched.pending}_drop_last_login.py"
    pending.unlink()
    add_revision(
        switched.layout,
        f"{switched.phantom}_add_phone.py",
        revision=switched.phantom,
        down_revision=HEAD,
        upgrade='op.add_column("users", sa.Column("phone", sa.Text()))',
        downgrade='op.drop_column("users", "phone")',
    )

    plan = json.loads(switched.plan(capsys, "--format", "json"))

    [link] = [link for link in plan["chain"] if link["revision"] == switched.phantom]
    assert link == {
        "revision": switched.phantom,
        "state": "applied",
        "file": f"{switched.phantom}_add_phone.py",
        "differs": True,
    }
    assert plan["changes_nothing"] is True


def test_an_unreachable_database_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://chat:secret-pw@127.0.0.1:1/chat")
    monkeypatch.setenv("MIGRATION_CONNECT_TIMEOUT_S", "0")
    with pytest.raises(SystemExit) as exited:
        main(["plan"])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: cannot reach the database at 127.0.0.1:1 (")
    assert "secret-pw" not in line


def test_without_a_key_here_the_proof_is_said_not_checked(
    switched: Switched,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # One path per run: rendering the pending revision's SQL for squawk runs env.py offline,
    # which makes a key where there is none in development (as `make sql` and `make check` do).
    monkeypatch.setenv("MIGRATION_SOURCE_KEY_FILE", str(tmp_path / "no-key-here"))
    output = switched.plan(capsys)
    monkeypatch.setenv("MIGRATION_SOURCE_KEY_FILE", str(tmp_path / "no-key-either"))
    plan = json.loads(switched.plan(capsys, "--format", "json"))

    assert (
        f"          proof: not checked: there is no key at {tmp_path / 'no-key-here'} "
        "(MIGRATION_SOURCE_KEY_FILE) here; the migrator runs only a source its own key "
        "proves, and stops otherwise"
    ) in output.splitlines()
    assert plan["down"][0]["proven"] is None


def docker_volumes() -> frozenset[str] | None:
    """The Docker volumes of this checkout's own Compose project; None where no Docker engine
    answers (nothing can create one there). Other projects' (the end-to-end tests') come and
    go meanwhile."""
    try:
        config = subprocess.run(
            ["docker", "compose", "config", "--format", "json"],
            cwd=BACKEND_DIR.parent,
            capture_output=True,
            text=True,
            check=True,
        )
        project = json.loads(config.stdout)["name"]
        listed = subprocess.run(
            ["docker", "volume", "ls", "--quiet", "--filter", f"label={PROJECT_LABEL}={project}"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return frozenset(listed.stdout.split())
