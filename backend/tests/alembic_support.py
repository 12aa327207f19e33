"""Alembic's config for this project, pointed at a test database."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool

BACKEND_DIR = Path(__file__).resolve().parents[1]
ALEMBIC_INI = BACKEND_DIR / "alembic.ini"
# The newest revision of the real tree: what "migrated" means in every test.
HEAD: str = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head() or ""


def migration_config(url: URL | None = None) -> Config:
    """Alembic's config; with `url`, commands run on that database (as env.py's handed-in
    connection), without it they can only work offline."""
    config = Config(str(ALEMBIC_INI))
    if url is not None:
        config.attributes["connection"] = create_engine(url, poolclass=NullPool)
    return config
