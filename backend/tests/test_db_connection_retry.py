"""Connecting with retry, in process on a real PostgreSQL: a server that answers connects at
once, a rejected login fails without waiting, one that never answers is retried, then named.
(tests/test_reliability_bad_input.py runs the same paths through the real `alembic` command.)"""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.config import Settings
from chat_backend.db.connection_retry import DatabaseUnreachableError, connect
from chat_backend.revisions.throwaway_postgres import free_port

RETRYING = "retrying"


def settings_for(url: URL, **overrides: object) -> Settings:
    raw = url.render_as_string(hide_password=False)
    return Settings.model_validate({"database_url": SecretStr(raw), **overrides})


def test_a_server_that_answers_connects_at_once(
    empty_database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(empty_database_url)
    engine = create_engine(settings.url, poolclass=NullPool)

    with caplog.at_level(logging.INFO), connect(engine, settings) as connection:
        assert connection.scalar(text("SELECT current_database()")) == empty_database_url.database

    engine.dispose()
    assert RETRYING not in caplog.text


def test_a_rejected_login_fails_without_retrying(
    empty_database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = empty_database_url.set(password="not-the-password")
    settings = settings_for(wrong, migration_connect_timeout_s=60)
    engine = create_engine(settings.url, poolclass=NullPool)

    with caplog.at_level(logging.INFO), pytest.raises(DatabaseUnreachableError) as raised:
        connect(engine, settings)

    engine.dispose()
    assert str(raised.value).startswith(
        f"DATABASE_URL: the database at {wrong.host}:{wrong.port} refused the login: password "
        'authentication failed for user "'
    )
    assert str(raised.value).endswith("correct the user, password or database in it")
    assert "not-the-password" not in str(raised.value)
    assert RETRYING not in caplog.text


def test_a_server_that_never_answers_is_retried_then_named(
    empty_database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there
    settings = settings_for(empty_database_url.set(port=port), migration_connect_timeout_s=1)
    engine = create_engine(settings.url, poolclass=NullPool)

    with caplog.at_level(logging.INFO), pytest.raises(DatabaseUnreachableError) as raised:
        connect(engine, settings)

    engine.dispose()
    message = str(raised.value)
    assert message.startswith(
        f"cannot reach the database at {empty_database_url.host}:{port} (Connection refused) "
        "after trying for 1 s: start it (`make up`), check that DATABASE_URL"
    )
    assert message.endswith("or wait longer with MIGRATION_CONNECT_TIMEOUT_S")
    assert "not reachable yet (Connection refused); retrying." in caplog.text
