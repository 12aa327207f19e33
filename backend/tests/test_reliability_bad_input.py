"""Bad input to the real `alembic` command line, as the migrator runs it: each case exits
non-zero with one line that names the setting or file (and the fix), no traceback and no
password; a database that comes up late is waited for, within a bound."""

from __future__ import annotations

import select
import socket
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import URL, create_engine, text

from chat_backend.config import Settings
from chat_backend.db.connection_retry import DatabaseUnreachableError, connect
from chat_backend.revisions.throwaway_postgres import free_port
from tests.alembic_support import HEAD, LATER, NEXT, write_revision
from tests.reliability_support import (
    COMMAND_TIMEOUT_S,
    alembic_command,
    assert_one_clean_error,
    command_env,
    migrations_copy,
    run_alembic,
)

SECRET = "s3cret-Not-To-Be-Shown"

# One more revision than the database has above base.
PAST_BASE = int(HEAD) + 1


def write_creating(versions: Path, file_name: str, revision: str, table: str) -> None:
    """A revision after head that creates `table`."""
    write_revision(
        versions,
        file_name,
        revision=revision,
        down_revision=HEAD,
        upgrade=f'op.execute("CREATE TABLE {table} (id int)")',
    )


def parts(url: URL, **overrides: str) -> dict[str, str]:
    """The settings of `url` as the POSTGRES_* parts Compose passes to the migrator."""
    return {
        "POSTGRES_HOST": str(url.host),
        "POSTGRES_PORT": str(url.port),
        "POSTGRES_USER": str(url.username),
        "POSTGRES_PASSWORD": str(url.password),
        "POSTGRES_DB": str(url.database),
        **overrides,
    }


def revision_of(url: URL) -> str | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        exists = connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        revision = (
            connection.scalar(text("SELECT version_num FROM alembic_version")) if exists else None
        )
    engine.dispose()
    return revision


@pytest.fixture
def backend(tmp_path: Path) -> Path:
    return migrations_copy(tmp_path / "backend")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"APP_ENV": "production", "POSTGRES_PASSWORD": ""},
            "POSTGRES_PASSWORD: an empty or placeholder password is refused in production",
        ),
        (
            {"APP_ENV": "production"},
            "POSTGRES_PASSWORD: an empty or placeholder password is refused in production",
        ),
        (
            {"APP_ENV": "staging", "POSTGRES_PASSWORD": SECRET},
            "APP_ENV: Input should be 'development', 'test' or 'production'; "
            "set it to one of: development, test, production",
        ),
    ],
    ids=["production-without-password", "production-with-default-password", "unknown-app-env"],
)
def test_bad_settings_exit_2_with_one_line(
    backend: Path, settings: dict[str, str], expected: str
) -> None:
    failed = run_alembic(backend, command_env(**settings), "upgrade", "head")
    assert failed.returncode == 2
    assert assert_one_clean_error(failed.stderr, SECRET) == expected


def test_malformed_env_line_names_the_file_and_line(backend: Path) -> None:
    env_file = backend / ".env"
    env_file.write_text(f"APP_ENV=development\nPOSTGRES_PASSWORD {SECRET}\n")
    failed = run_alembic(backend, command_env(), "upgrade", "head")
    assert failed.returncode == 2
    assert assert_one_clean_error(failed.stderr, SECRET) == (
        f"{env_file} line 2: not a NAME=value setting; fix it (quote a value that holds "
        "spaces, $ or #) or comment it out with #"
    )


@pytest.mark.parametrize("form", ["parts", "url"])
def test_wrong_password_names_the_setting_without_retrying(
    backend: Path, empty_database_url: URL, form: str
) -> None:
    wrong = empty_database_url.set(password=SECRET)
    env = command_env(**parts(wrong)) if form == "parts" else command_env(wrong)
    env["MIGRATION_CONNECT_TIMEOUT_S"] = "60"
    failed = run_alembic(backend, env, "upgrade", "head")
    assert failed.returncode == 1
    message = assert_one_clean_error(failed.stderr, SECRET)
    variable = "POSTGRES_PASSWORD" if form == "parts" else "DATABASE_URL"
    assert message.startswith(
        f"{variable}: the database at {wrong.host}:{wrong.port} refused the login: "
        f'password authentication failed for user "{wrong.username}"; '
    )
    assert "retrying" not in failed.stderr


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        # The server answers as for a wrong password: it tells no one which roles exist.
        (
            {"postgres_user": "nobody"},
            "POSTGRES_PASSWORD: the database at {where} refused the login: password "
            'authentication failed for user "nobody"; set it to the password of that role, or '
            "POSTGRES_USER to another role",
        ),
        (
            {"postgres_db": "nothing"},
            'POSTGRES_DB: the database at {where} refused the login: database "nothing" does '
            "not exist; set it to a database that exists on the server",
        ),
    ],
    ids=["unknown-role", "unknown-database"],
)
def test_unknown_role_or_database_names_what_to_set(
    empty_database_url: URL, wrong: dict[str, str], expected: str
) -> None:
    url = empty_database_url
    fields: dict[str, Any] = {
        "postgres_host": url.host,
        "postgres_port": url.port,
        "postgres_user": url.username,
        "postgres_password": SecretStr(str(url.password)),
        "postgres_db": url.database,
    }
    settings = Settings(**(fields | wrong))
    engine = create_engine(settings.url)
    with pytest.raises(DatabaseUnreachableError) as raised:
        connect(engine, settings)
    engine.dispose()
    assert str(raised.value).startswith(expected.format(where=f"{url.host}:{url.port}"))
    assert str(url.password) not in str(raised.value)


def test_unreachable_database_is_retried_then_named(backend: Path, empty_database_url: URL) -> None:
    port = free_port()  # nothing listens there
    env = command_env(
        **parts(empty_database_url, POSTGRES_PORT=str(port), POSTGRES_PASSWORD=SECRET),
        MIGRATION_CONNECT_TIMEOUT_S="1",
    )
    failed = run_alembic(backend, env, "upgrade", "head")
    assert failed.returncode == 1
    assert assert_one_clean_error(failed.stderr, SECRET) == (
        f"cannot reach the database at {empty_database_url.host}:{port} (Connection refused) "
        "after trying for 1 s: start it (`make up`), check that POSTGRES_HOST and "
        "POSTGRES_PORT point at it, or wait longer with MIGRATION_CONNECT_TIMEOUT_S"
    )
    assert "not reachable yet (Connection refused); retrying." in failed.stderr


class _Relay(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        super().__init__(("127.0.0.1", port), _Pipe)
        self.target = target


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _Relay)
        with socket.create_connection(self.server.target) as upstream:
            peer = {self.request: upstream, upstream: self.request}
            while True:
                readable, _, _ = select.select(list(peer), [], [])
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    peer[source].sendall(data)


@contextmanager
def relay(port: int, target: URL) -> Iterator[None]:
    """The database, reachable on `port` from now on (the server "comes up")."""
    server = _Relay(port, (str(target.host), int(target.port or 5432)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def test_database_that_comes_up_late_is_waited_for(backend: Path, empty_database_url: URL) -> None:
    # The migrator is pointed at the relay, on this machine's loopback; the relay reaches the
    # server wherever it is (here, or the stack's db from the dev container).
    port = free_port()
    where = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(port)}
    env = command_env(**parts(empty_database_url, **where), MIGRATION_CONNECT_TIMEOUT_S="60")
    migrator = subprocess.Popen(
        alembic_command("upgrade", "head"),
        cwd=backend,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert migrator.stdout is not None
    # Condition, not a sleep: the first failed attempt is logged before the retry.
    for line in migrator.stdout:
        if "retrying" in line:
            break
    with relay(port, empty_database_url):
        output, _ = migrator.communicate(timeout=COMMAND_TIMEOUT_S)
    assert migrator.returncode == 0, output
    assert revision_of(empty_database_url) == HEAD


def test_missing_alembic_ini_fails_without_a_traceback(tmp_path: Path) -> None:
    failed = run_alembic(tmp_path, command_env(), "upgrade", "head")
    assert failed.returncode != 0
    assert failed.stdout.strip() == "FAILED: No 'script_location' key found in configuration."
    assert "Traceback" not in failed.stderr


def test_missing_script_location_names_the_path(backend: Path) -> None:
    (backend / "migrations").rename(backend / "moved")
    failed = run_alembic(backend, command_env(), "upgrade", "head")
    assert failed.returncode != 0
    assert failed.stdout.startswith(f"FAILED: Path doesn't exist: {backend / 'migrations'}.")
    assert "Traceback" not in failed.stderr


def test_two_heads_refuse_to_upgrade(backend: Path, empty_database_url: URL) -> None:
    versions = backend / "migrations" / "versions"
    write_creating(versions, f"{NEXT}_left.py", NEXT, "left_side")
    write_creating(versions, f"{LATER}_right.py", LATER, "right_side")
    failed = run_alembic(backend, command_env(empty_database_url), "upgrade", "head")
    assert failed.returncode != 0
    assert failed.stdout.startswith("FAILED: Multiple head revisions are present")
    assert "Traceback" not in failed.stderr
    assert revision_of(empty_database_url) is None


def test_duplicate_revision_id_refuses_to_upgrade(backend: Path, empty_database_url: URL) -> None:
    versions = backend / "migrations" / "versions"
    write_creating(versions, f"{NEXT}_mine.py", NEXT, "mine")
    write_creating(versions, f"{NEXT}_theirs.py", NEXT, "theirs")
    failed = run_alembic(backend, command_env(empty_database_url), "upgrade", "head")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        f"error: revision '{NEXT}' is declared by {NEXT}_mine.py and {NEXT}_theirs.py (two "
        "branches numbered a revision alike), so Alembic would run only one; nothing was "
        "migrated: run `make renumber` to move this branch's revisions after the base branch's head"
    ]
    assert revision_of(empty_database_url) is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("downgrade", f"-{PAST_BASE}"),
            f"FAILED: Relative revision -{PAST_BASE} didn't produce {PAST_BASE} migrations",
        ),
        (("stamp", "999"), "FAILED: Can't locate revision identified by '999'"),
        (("upgrade", "999"), "FAILED: Can't locate revision identified by '999'"),
    ],
    ids=["downgrade-past-base", "stamp-unknown-revision", "upgrade-unknown-revision"],
)
def test_alembic_refuses_impossible_targets_and_changes_nothing(
    backend: Path, database_url: URL, args: tuple[str, ...], expected: str
) -> None:
    failed = run_alembic(backend, command_env(database_url), *args)
    assert failed.returncode != 0
    assert failed.stdout.strip() == expected
    assert "Traceback" not in failed.stderr
    assert revision_of(database_url) == HEAD
