"""On a machine with only Docker, make and uv, the database tests and `make check` fall back
to the Compose stack's db service."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chat_backend.revisions import throwaway_postgres
from tests.e2e.compose_project import ComposeProject


def test_without_local_binaries_the_compose_db_serves(
    project: ComposeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throwaway_postgres, "server_bin_dir", lambda: None)
    for name in ("TEST_DATABASE_URL", "DATABASE_URL", "POSTGRES_HOST", "POSTGRES_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in project.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(Path(project.directory, "backend"))

    with throwaway_postgres.throwaway_database() as url:
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_database()")) == url.database
        engine.dispose()

    assert url.port == project.postgres_port
    assert project.state("db")["Health"]["Status"] == "healthy"
    leftovers = "SELECT count(*) FROM pg_database WHERE datname LIKE 'chat_throwaway_%'"
    assert project.sql(leftovers) == "0"
