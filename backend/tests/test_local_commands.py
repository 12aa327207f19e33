"""`python -m chat_backend.local_db`: what `make reset`, `make snapshot` and the others run
inside the stack, here run in-process against the test server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from chat_backend.exit_codes import NO_TEMPLATE
from chat_backend.local_db.cluster import Cluster
from chat_backend.local_db.commands import main
from chat_backend.local_db.target import Target
from tests.alembic_support import ALEMBIC_INI, HEAD
from tests.local_db_support import own_database, query

USED_DATA = """
INSERT INTO users (username) VALUES ('old-user');
INSERT INTO ai_chats (user_id) SELECT id FROM users;
CREATE TABLE scratch (note text);
"""
DESTRUCTIVE = [
    ["reset"],
    ["template"],
    ["guard"],
    ["snapshot", "x"],
    ["restore", "x"],
    ["drop-snapshot", "x"],
]


def point_at(monkeypatch: pytest.MonkeyPatch, target: Target) -> None:
    """Set the environment as Compose sets it for the backend containers."""
    for name, value in {
        "APP_ENV": target.app_env,
        "POSTGRES_HOST": target.host or "",
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_DB": target.database,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def app(
    server: Target, migrated_template: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Target]:
    """A used migrated database, which the environment names as the stack's."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ALEMBIC_CONFIG", str(ALEMBIC_INI))
    monkeypatch.chdir(tmp_path)
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.clone(migrated_template, target.database)
        query(target, USED_DATA)
        point_at(monkeypatch, target)
        yield target


@pytest.fixture
def unreachable(app: Target, monkeypatch: pytest.MonkeyPatch) -> Target:
    """The app's settings, but on a port nothing listens on: any connection attempt fails."""
    target = replace(app, port=1)
    point_at(monkeypatch, target)
    return target


def template_in(reset_output: str) -> str:
    return reset_output.split("a clone of ")[1].split(",")[0]


def tables(target: Target) -> list[object]:
    return [
        row[0]
        for row in query(
            target, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
    ]


def test_reset_leaves_nothing_of_the_old_data_and_is_at_head(
    app: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reset"]) == 0

    assert query(app, "SELECT count(*) FROM users") == [(0,)]
    assert query(app, "SELECT count(*) FROM ai_chats") == [(0,)]
    assert "scratch" not in tables(app)
    assert query(app, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    out = capsys.readouterr().out
    assert f"reset: {app.database!r} is empty at head" in out
    assert "template was built first" in out


def test_the_next_reset_clones_the_same_template(
    app: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["reset"])
    first = capsys.readouterr().out
    query(app, USED_DATA)

    assert main(["reset"]) == 0

    again = capsys.readouterr().out
    assert "template was built first" not in again
    assert (
        again.split("a clone of ")[1].split(",")[0] == first.split("a clone of ")[1].split(",")[0]
    )
    assert query(app, "SELECT count(*) FROM users") == [(0,)]


def test_reset_ends_open_sessions_and_the_pool_recovers(app: Target) -> None:
    engine = create_engine(app.url(app.database), pool_pre_ping=True)
    try:
        with engine.connect() as held_open:
            assert main(["reset"]) == 0
            with pytest.raises(OperationalError):
                held_open.execute(text("SELECT 1"))
        with engine.connect() as fresh:
            assert fresh.scalar(text("SELECT count(*) FROM users")) == 0
    finally:
        engine.dispose()


def test_reset_can_be_told_not_to_build_the_first_template(
    app: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reset", "--require-template"]) == NO_TEMPLATE

    assert "no migrated template on this server yet" in capsys.readouterr().err
    assert query(app, "SELECT username FROM users") == [("old-user",)]


@pytest.mark.parametrize("command", DESTRUCTIVE, ids=" ".join)
def test_production_is_refused_before_connecting(
    unreachable: Target,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    point_at(monkeypatch, replace(unreachable, app_env="production"))

    assert main(command) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: refusing to replace, delete or roll back data when APP_ENV is ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", DESTRUCTIVE, ids=" ".join)
def test_a_remote_host_is_refused_before_connecting(
    unreachable: Target,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    point_at(monkeypatch, replace(unreachable, host="prod-db.example.com"))

    assert main(command) == 1

    err = capsys.readouterr().err
    assert "host 'prod-db.example.com', which is not local" in err
    assert err.count("\n") == 1


def test_the_snapshot_commands_round_trip(app: Target, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", "before-risky"]) == 0
    query(app, "DELETE FROM users")
    capsys.readouterr()
    assert main(["snapshots"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["NAME", "SIZE", "TAKEN"]
    assert listing[1].startswith("before-risky ")
    assert listing[1].endswith(" UTC")

    assert main(["restore", "before-risky"]) == 0
    assert query(app, "SELECT username FROM users") == [("old-user",)]
    assert main(["drop-snapshot", "before-risky"]) == 0
    capsys.readouterr()
    assert main(["snapshots"]) == 0
    assert "no snapshots of" in capsys.readouterr().out


@pytest.mark.usefixtures("unreachable")
def test_a_bad_snapshot_name_fails_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", "Before Risky"]) == 1

    assert capsys.readouterr().err.startswith(
        "error: snapshot name 'Before Risky' is not valid: use lowercase letters"
    )


@pytest.mark.usefixtures("unreachable")
def test_an_unreachable_server_is_one_line_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshots"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the database server at ")
    assert "start it with `make up`" in err
    assert err.count("\n") == 1


def test_a_wrong_password_points_at_the_volume(
    app: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, replace(app, password="changed-in-env"))

    assert main(["reset"]) == 1

    err = capsys.readouterr().err
    assert "password authentication failed" in err
    assert "`make reset HARD=1`" in err
    assert "changed-in-env" not in err
    assert err.count("\n") == 1
