"""The tests' last-resort server, the Compose `db` service: reached at the address Compose
publishes with the service's own credentials, never at what the app's settings name (they may
name any server), and refused when libpq would be sent elsewhere."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from chat_backend.revisions.throwaway_postgres import compose_db_server
from tests.e2e.compose_project import ComposeProject

ELSEWHERE = "postgresql://chat:Secret-9@prod-db.example.invalid:5432/chat"


@pytest.fixture
def settings_naming_another_server(
    project: ComposeProject, monkeypatch: pytest.MonkeyPatch
) -> ComposeProject:
    for name, value in project.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", ELSEWHERE)
    (project.directory / ".env").write_text(f"DATABASE_URL={ELSEWHERE}\n")
    monkeypatch.chdir(project.directory / "backend")
    return project


def test_the_fallback_is_the_compose_db_service_not_the_app_settings(
    settings_naming_another_server: ComposeProject,
) -> None:
    url = compose_db_server()

    assert (url.host, url.port) == ("127.0.0.1", settings_naming_another_server.postgres_port)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT current_user")) == "chat"
    engine.dispose()


@pytest.mark.usefixtures("settings_naming_another_server")
def test_the_fallback_is_refused_when_libpq_would_go_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGHOSTADDR", "192.0.2.10")

    with pytest.raises(RuntimeError, match="the Compose db service is not a local server"):
        compose_db_server()
