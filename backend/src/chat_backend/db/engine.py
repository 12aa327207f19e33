"""The SQLAlchemy engine: one per process, built from Settings."""

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
