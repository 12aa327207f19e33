"""The local-database guard judges the host libpq will really use, on a real server, in a real
`python -m chat_backend.local_db` process given libpq's own environment variables: PGHOST
behind a URL without a host, a host list, URL query options, PGHOSTADDR and service files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target
from tests.alembic_support import ALEMBIC_INI
from tests.local_db_support import own_database, query
from tests.reliability_support import SETTINGS

REMOTE = "prod-db.example.invalid"
LIBPQ_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE", "PGSERVICEFILE", "PGDATABASE")


@pytest.fixture
def app(server: Target, migrated_template: str) -> Iterator[Target]:
    """A migrated database of this test's own, holding a row."""
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.clone(migrated_template, target.database)
        query(target, "INSERT INTO users (username) VALUES ('keep-me')")
        yield target


def hostless_url(target: Target, query_string: str = "") -> str:
    """`postgresql://user:password@:port/db`: libpq takes the host from elsewhere."""
    return (
        f"postgresql://{target.user}:{target.password}@:{target.port}/{target.database}"
        f"{query_string}"
    )


def local_db(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS and name not in LIBPQ_VARIABLES
    }
    return subprocess.run(
        [sys.executable, "-m", "chat_backend.local_db", "--alembic-ini", str(ALEMBIC_INI), *args],
        cwd=tmp_path,  # no .env here
        env={**clean, "APP_ENV": "development", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def service_file(tmp_path: Path, host: str) -> str:
    path = tmp_path / "pg_service.conf"
    path.write_text(f"[app]\nhost={host}\n")
    return str(path)


@pytest.mark.parametrize(
    "case",
    [
        "pghost-behind-a-hostless-url",
        "host-list-socket-then-remote",
        "host-in-the-url-query",
        "pghostaddr-behind-a-local-name",
        "service-file-behind-a-hostless-url",
        "host-list-in-postgres-host",
    ],
)
@pytest.mark.parametrize("command", ["reset", "guard"])
def test_a_remote_host_from_libpq_is_refused_and_nothing_changes(
    app: Target, tmp_path: Path, case: str, command: str
) -> None:
    env = {
        "pghost-behind-a-hostless-url": {"DATABASE_URL": hostless_url(app), "PGHOST": REMOTE},
        "host-list-socket-then-remote": {
            "DATABASE_URL": hostless_url(app, f"?host=/nonexistent-socket-dir,{REMOTE}")
        },
        "host-in-the-url-query": {
            "DATABASE_URL": app.url(app.database)
            .set(query={"host": REMOTE})
            .render_as_string(hide_password=False)
        },
        "pghostaddr-behind-a-local-name": {
            "DATABASE_URL": app.url(app.database).render_as_string(hide_password=False),
            "PGHOSTADDR": "192.0.2.10",
        },
        "service-file-behind-a-hostless-url": {
            "DATABASE_URL": hostless_url(app),
            "PGSERVICE": "app",
            "PGSERVICEFILE": service_file(tmp_path, REMOTE),
        },
        "host-list-in-postgres-host": {
            "POSTGRES_HOST": f"/var/run/postgresql,{REMOTE}",
            "POSTGRES_PORT": str(app.port),
            "POSTGRES_USER": app.user,
            "POSTGRES_PASSWORD": app.password,
            "POSTGRES_DB": app.database,
        },
    }[case]

    refused = local_db(tmp_path, command, **env)

    assert refused.returncode == 1, refused.stderr
    address = "192.0.2.10" if case == "pghostaddr-behind-a-local-name" else REMOTE
    assert refused.stderr.startswith(
        f"error: refusing to replace or delete a database on host {address!r}, which is not local"
    ), refused.stderr
    assert "unset PGHOST, PGHOSTADDR and PGSERVICE" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert app.password not in refused.stderr
    assert query(app, "SELECT username FROM users") == [("keep-me",)]


def test_a_local_host_from_pghost_is_accepted(app: Target, tmp_path: Path) -> None:
    """The other way round: libpq's variables that point at the test server are fine. Both
    name its host: loopback on a host, the stack's `db` from the dev container (the service
    file's host wins over PGHOST, so `localhost` would miss a server that is not here)."""
    passed = local_db(
        tmp_path,
        "reset",
        DATABASE_URL=hostless_url(app),
        PGHOST=str(app.host),
        PGSERVICE="app",
        PGSERVICEFILE=service_file(tmp_path, str(app.host)),
    )

    assert passed.returncode == 0, passed.stderr
    assert query(app, "SELECT count(*) FROM users") == [(0,)]


def test_options_libpq_cannot_place_are_refused(app: Target, tmp_path: Path) -> None:
    refused = local_db(
        tmp_path,
        "reset",
        DATABASE_URL=hostless_url(app, "?host=localhost,127.0.0.1&hostaddr=127.0.0.1"),
    )

    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "error: refusing to replace or delete a database libpq cannot place: host lists 2 "
        "entries but hostaddr 1"
    ), refused.stderr
    assert query(app, "SELECT username FROM users") == [("keep-me",)]
