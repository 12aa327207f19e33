"""The API's asyncpg pool: one per worker process, opened in the app's lifespan.

The data routes run on it, async end to end (no worker thread per request). What each
connection carries is set when it connects, so nothing is sent per request:
- API_STATEMENT_TIMEOUT_MS and API_LOCK_TIMEOUT_MS as server settings of the session;
- JSON and JSONB decoded to Python values by the driver (asyncpg's default is text), and
  encoded from them.

Connections are autocommit (every route runs single statements) and no route changes session
state, so a returned connection is not reset: asyncpg's default reset (`RESET ALL`,
`UNLISTEN *`, ... ) is a round trip per request. asyncpg still rolls back a transaction left
open. tests/test_api_session_state.py checks that no route leaves state behind.

Migrations, the schema guard and the host tools stay on psycopg2 (db/engine.py).
"""

from __future__ import annotations

import json

import asyncpg
from sqlalchemy import URL

from chat_backend.config import Settings

# Connections per worker for data requests: each in-flight query holds one, and on a 2-core
# machine a few workers with ten each keep PostgreSQL busy (README: connection arithmetic).
POOL_SIZE = 10
CONNECT_TIMEOUT_S = 5.0
# How long a request waits for a free connection before a 503 (database_busy).
ACQUIRE_TIMEOUT_S = 30.0


def dsn(url: URL) -> str:
    """`url` (SQLAlchemy's, any driver) as the libpq-style DSN asyncpg reads."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def register_json_codecs(connection: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def keep_session(_connection: asyncpg.Connection) -> None:
    """No reset on release: see the module docstring."""


def server_settings(settings: Settings) -> dict[str, str]:
    return {
        "application_name": "chat-backend",
        "statement_timeout": str(settings.api_statement_timeout_ms),
        "lock_timeout": str(settings.api_lock_timeout_ms),
    }


async def open_api_pool(settings: Settings, size: int = POOL_SIZE) -> asyncpg.Pool:
    """The pool; it connects on demand (a database down at start-up does not stop the app:
    /health reports it, and data requests get a 503 until it is back)."""
    return await asyncpg.create_pool(
        dsn(settings.url),
        min_size=0,
        max_size=size,
        init=register_json_codecs,
        reset=keep_session,
        timeout=CONNECT_TIMEOUT_S,
        server_settings=server_settings(settings),
    )
