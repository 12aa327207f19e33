"""The SQLAlchemy engines (psycopg2): one for tools and migrations, and the API schema guard's,
built from Settings. The API's data routes run on asyncpg instead (api_pool.py)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

from chat_backend.config import Settings

# Small on purpose: a 2-core dev machine, and PostgreSQL's default max_connections of 100
# shared by the backend, the migrator and the tests.
POOL_SIZE = 5
MAX_OVERFLOW = 10
CONNECT_TIMEOUT_S = 5


def make_engine(settings: Settings) -> Engine:
    """An engine that checks connections before use, so a database restart leaves none dead."""
    return create_engine(
        settings.url,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "chat-backend"},
    )


def api_engine(settings: Settings, connections: int, *, pre_ping: bool = False) -> Engine:
    """The API schema guard's engine (and /health's): one round trip per statement, and no
    statement waits unbounded.

    - A fixed pool of `connections` (one per guard thread) and no overflow: an overflow
      connection is closed when returned, so under load every request past the pool would pay
      for a new server process and a login.
    - Autocommit: every route runs single statements, each a transaction of its own, so a
      BEGIN and a COMMIT/ROLLBACK would only double the round trips (and with no transaction
      ever open, a returned connection needs no reset).
    - No pre-ping by default (another round trip): a connection that died with a database
      restart fails its statement, the pool then replaces every connection it held, and the
      error handlers answer that one request 503.
    - API_STATEMENT_TIMEOUT_MS and API_LOCK_TIMEOUT_MS as session settings, sent with the login.
    """
    timeouts = (
        f"-c statement_timeout={settings.api_statement_timeout_ms} "
        f"-c lock_timeout={settings.api_lock_timeout_ms}"
    )
    return create_engine(
        settings.url,
        pool_size=connections,
        max_overflow=0,
        pool_pre_ping=pre_ping,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "chat-backend",
            "options": timeouts,
        },
    )
