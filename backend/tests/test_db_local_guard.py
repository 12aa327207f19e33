"""The one guard in front of every destructive path (db/local_guard): APP_ENV, libpq's options
before connecting, the address libpq really reached, and what the database says it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2  # type: ignore[import-untyped]
import pytest

from chat_backend.db import environment_marker, local_guard
from chat_backend.db.cluster import Cluster, connect, mark
from chat_backend.db.libpq_target import Connected
from chat_backend.db.local_guard import RefusedError, is_local, refusal, require_local
from chat_backend.db.target import Target
from tests.local_db_support import own_database


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.0.0.2", "::1"])
@pytest.mark.parametrize("app_env", ["development", "test"])
def test_local_options_pass_before_connecting(app_env: str, host: str) -> None:
    assert refusal(app_env, options={"host": host}) is None
    require_local(app_env, options={"host": host})


@pytest.mark.parametrize(
    "host", ["prod-db.example.com", "10.0.0.5", "192.168.1.20", "db.internal", "2001:db8::1"]
)
def test_a_host_that_is_not_local_is_refused(host: str) -> None:
    reason = refusal("development", options={"host": host})

    assert reason is not None
    assert f"host {host!r}, which is not local" in reason
    assert "POSTGRES_HOST (or DATABASE_URL)" in reason
    assert "unset PGHOST, PGHOSTADDR and PGSERVICE" in reason
    assert "\n" not in reason
    with pytest.raises(RefusedError, match="not local"):
        require_local("development", options={"host": host})


def _resolver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, nameserver: str) -> None:
    """This process's resolv.conf, as the guard reads it: the tests run on a host, and in the
    dev container, which is inside the stack's Compose network."""
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text(f"search example.com\nnameserver {nameserver}\n")
    monkeypatch.setattr(local_guard, "COMPOSE_RESOLV_CONF", resolv_conf)


def test_the_compose_service_name_is_not_local_outside_a_container(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On the host, `db` is whatever /etc/hosts or DNS says: another machine, maybe."""
    _resolver(monkeypatch, tmp_path, "192.0.2.53")

    assert refusal("development", options={"host": "db"}) is not None
    assert not is_local(Connected(host="db", address="203.0.113.7"))


def test_the_compose_service_name_is_local_inside_a_compose_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Docker's embedded DNS answers `db` with the project's own container; once connected,
    the address must still be one `db` resolves to."""
    _resolver(monkeypatch, tmp_path, local_guard.EMBEDDED_DNS)
    monkeypatch.setattr(local_guard, "_addresses_of", lambda _name: {"172.18.0.2"})

    assert refusal("development", options={"host": "db"}) is None
    assert is_local(Connected(host="db", address="172.18.0.2"))
    assert not is_local(Connected(host="db", address="203.0.113.7"))


@pytest.mark.parametrize(
    ("host", "address"),
    [("/var/run/postgresql", ""), ("@abstract", ""), ("localhost", "127.0.0.1"), ("x", "::1")],
)
def test_sockets_and_loopback_addresses_are_local(host: str, address: str) -> None:
    assert is_local(Connected(host=host, address=address))


def test_a_local_name_beside_a_remote_address_is_judged_by_the_address() -> None:
    """PQhost says `localhost`; PQhostaddr says where libpq went (PGHOSTADDR, hostaddr=)."""
    assert not is_local(Connected(host="localhost", address="198.51.100.4"))


@pytest.mark.parametrize("host", ["db", "localhost", "127.0.0.1"])
def test_production_is_refused_even_on_a_local_host(host: str) -> None:
    reason = refusal("production", options={"host": host})

    assert reason is not None
    assert "APP_ENV is 'production'" in reason
    assert "\n" not in reason


def test_an_unknown_environment_is_refused() -> None:
    assert refusal("staging", options={"host": "localhost"}) is not None


@pytest.fixture
def database(server: Target) -> Iterator[Target]:
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.create(target.database)
        yield target


def session_of(target: Target) -> Any:
    return connect(target, target.database)


def test_a_database_without_a_marker_is_refused_on_a_local_server(database: Target) -> None:
    """`ssh -L 5432:prod:5432` makes production look like loopback: its marker does not."""
    session = session_of(database)
    try:
        reason = refusal("development", session=session)
    finally:
        session.close()

    assert reason == (
        f"refusing to replace, delete or roll back data in database {database.database!r}: it "
        "carries no environment marker, and only a development or test database may be (a "
        "production server reached through an SSH tunnel looks local too); if it really is a "
        "development one: make mark-database env=development"
    )


@pytest.mark.parametrize(
    ("environment", "refused"), [("development", False), ("test", False), ("production", True)]
)
def test_the_marker_decides(database: Target, environment: str, *, refused: bool) -> None:
    mark(database, database.database, environment)
    session = session_of(database)
    try:
        reason = refusal("development", session=session)
        assert (reason is not None) is refused
        if refused:
            assert "says it is a 'production' database" in str(reason)
        assert refusal("development", session=session, marker=False) is None
    finally:
        session.close()


def test_an_unknown_environment_cannot_be_marked(database: Target) -> None:
    session = session_of(database)
    try:
        with pytest.raises(ValueError, match="env='staging' is not an environment"):
            environment_marker.write(session, "staging")
        with session.cursor() as cursor:
            cursor.execute(environment_marker.CREATE)
            with pytest.raises(psycopg2.errors.CheckViolation):
                cursor.execute(environment_marker.WRITE, ("staging",))
    finally:
        session.rollback()
        session.close()


def test_the_db_init_script_marks_the_same_table(database: Target) -> None:
    """db/init/20-environment.sql (the stack's first start) and environment_marker agree."""
    from tests.alembic_support import BACKEND_DIR

    script = (BACKEND_DIR.parent / "db" / "init" / "20-environment.sql").read_text()
    session = session_of(database)
    try:
        with session, session.cursor() as cursor:
            cursor.execute(script)
        assert environment_marker.read(session) == "development"
        with session:
            environment_marker.write(session, "test")
        assert environment_marker.read(session) == "test"
    finally:
        session.close()
