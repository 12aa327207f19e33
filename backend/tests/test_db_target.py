"""Where the local-database commands find their database: the environment Compose sets, read
directly, agrees with Settings; anything less falls back to Settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chat_backend import config
from chat_backend.db import target
from chat_backend.db.target import Target, load_target
from tests.alembic_support import BACKEND_DIR

COMPOSE_FILE = BACKEND_DIR.parent / "compose.yaml"

COMPOSE_ENVIRONMENT = {
    "APP_ENV": "development",
    "POSTGRES_HOST": "db",
    "POSTGRES_PORT": "5432",
    "POSTGRES_USER": "chat",
    "POSTGRES_PASSWORD": "p@ss%w$rd:/?#x",
    "POSTGRES_DB": "chat",
}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No settings in the environment and no .env file around the working directory."""
    for name in (*COMPOSE_ENVIRONMENT, "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def set_environment(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def test_the_compose_environment_is_read_as_settings_reads_it(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = load_target(COMPOSE_ENVIRONMENT, clean_environment)
    set_environment(monkeypatch, COMPOSE_ENVIRONMENT)

    via_settings = load_target({}, clean_environment)

    assert direct == via_settings
    assert direct == Target("development", "db", 5432, "chat", "p@ss%w$rd:/?#x", "chat")


def test_settings_decide_when_a_variable_is_left_to_its_default(clean_environment: Path) -> None:
    partial = {k: v for k, v in COMPOSE_ENVIRONMENT.items() if k != "POSTGRES_HOST"}

    target = load_target(partial, clean_environment)

    assert target.host == "localhost"  # Settings' default: this process's environment is empty


def test_a_database_url_in_a_env_file_wins_over_the_parts(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_environment(monkeypatch, COMPOSE_ENVIRONMENT)
    (clean_environment / ".env").write_text(
        "DATABASE_URL=postgresql://chat:secret@prod-db.example.com:5432/chat\n"
    )

    target = load_target(COMPOSE_ENVIRONMENT, clean_environment)

    assert target.host == "prod-db.example.com"


def test_a_bad_port_gets_settings_error_and_exit_2(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = {**COMPOSE_ENVIRONMENT, "POSTGRES_PORT": "five"}
    set_environment(monkeypatch, environment)

    with pytest.raises(SystemExit) as exited:
        load_target(environment, clean_environment)

    assert exited.value.code == 2
    assert "POSTGRES_PORT" in capsys.readouterr().err


# target.py keeps its own copies of two lists so that a reset never imports Settings (pydantic
# and SQLAlchemy take about a second to import); these tests keep the copies equal.
def test_the_env_files_are_those_settings_reads() -> None:
    assert target.ENV_FILES == config.ENV_FILES


def test_the_variables_read_directly_are_the_settings_of_a_target() -> None:
    settings = {name.upper() for name in config.Settings.model_fields}
    of_a_target = {name for name in settings if name == "APP_ENV" or name.startswith("POSTGRES_")}

    assert set(target.COMPOSE_VARIABLES) == of_a_target


def test_compose_sets_every_variable_read_directly_for_both_roles() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())

    for role in ("migrator", "backend"):
        environment = compose["services"][role]["environment"]
        missing = set(target.COMPOSE_VARIABLES) - set(environment)
        assert not missing, f"compose.yaml's {role} no longer sets {sorted(missing)}"
