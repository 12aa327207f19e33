"""Leave a checkpoint behind going down: allowed only on a database the local database guard
(chat_backend.local_db.guard, the one guard of every destructive command) lets through,
because going below a checkpoint drops every table it made (db/checkpoints)."""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy import URL

from chat_backend.db.checkpoints import allow_dropping
from chat_backend.local_db.guard import require_local
from chat_backend.local_db.target import Target


def allow_dropping_checkpoints(config: Config, app_env: str, url: URL) -> None:
    """Let commands run with `config` drop a checkpoint's tables on the database at `url`;
    raises guard.RefusedError (nothing allowed) unless it is a local development one."""
    require_local(app_env, Target.from_url(url, app_env).connect_options(url.database or ""))
    allow_dropping(config)
