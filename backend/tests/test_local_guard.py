"""The guard in front of every destructive local-database command."""

from __future__ import annotations

import pytest

from chat_backend.db.local_database import is_local_host
from chat_backend.local_db.guard import RefusedError, refusal, require_local


@pytest.mark.parametrize("host", ["db", "localhost", "LOCALHOST", "127.0.0.1", "127.0.0.2", "::1"])
@pytest.mark.parametrize("app_env", ["development", "test"])
def test_a_local_development_database_passes(app_env: str, host: str) -> None:
    assert refusal(app_env, {"host": host}) is None
    require_local(app_env, {"host": host})


@pytest.mark.parametrize("host", [None, "", "/var/run/postgresql"])
def test_a_unix_socket_is_local(host: str | None) -> None:
    assert is_local_host(host)


@pytest.mark.parametrize(
    "host", ["prod-db.example.com", "10.0.0.5", "192.168.1.20", "db.internal", "2001:db8::1"]
)
def test_a_host_that_is_not_local_is_refused(host: str) -> None:
    reason = refusal("development", {"host": host})

    assert reason is not None
    assert f"host {host!r}, which is not local" in reason
    assert "POSTGRES_HOST (or DATABASE_URL)" in reason
    assert "unset PGHOST, PGHOSTADDR and PGSERVICE" in reason
    assert "\n" not in reason
    with pytest.raises(RefusedError, match="not local"):
        require_local("development", {"host": host})


@pytest.mark.parametrize("host", ["db", "localhost", "127.0.0.1"])
def test_production_is_refused_even_on_a_local_host(host: str) -> None:
    reason = refusal("production", {"host": host})

    assert reason is not None
    assert "APP_ENV is 'production'" in reason
    assert "\n" not in reason
    with pytest.raises(RefusedError, match="APP_ENV"):
        require_local("production", {"host": host})


def test_an_unknown_environment_is_refused() -> None:
    assert refusal("staging", {"host": "localhost"}) is not None
