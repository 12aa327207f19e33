"""Leave a checkpoint behind going down: allowed only on a database the one guard
(chat_backend.db.local_guard) lets through, because going below a checkpoint drops every table
it made (db/checkpoints)."""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool

from chat_backend.db.checkpoints import allow_dropping
from chat_backend.db.local_guard import require_local


def allow_dropping_checkpoints(config: Config, app_env: str, url: URL) -> None:
    """Let commands run with `config` drop a checkpoint's tables on the database at `url`;
    raises local_guard.RefusedError (nothing allowed) unless it is a local development or
    test one, judged on a session of its own (where libpq went, the database's marker)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        connection = engine.raw_connection()
        try:
            require_local(app_env, session=connection.dbapi_connection)
        finally:
            connection.close()
    finally:
        engine.dispose()
    allow_dropping(config)
