"""Settings: defaults, precedence, special-character passwords and every error's text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from chat_backend.config import ConfigError, Settings, load_settings, settings_or_exit
from tests.reliability_support import SETTINGS

SPECIAL_PASSWORD = "p@ss%w$rd:/?#&=+ x"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable and no .env from the developer's machine leaks into these tests."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def admin_url_with_role(admin: Engine, database_url: URL) -> Iterator[tuple[URL, str]]:
    """A test database and a login role whose password holds URL-special characters."""
    role = f"{database_url.database}_role"
    with admin.connect() as connection:
        connection.execute(
            text(f'CREATE ROLE "{role}" LOGIN PASSWORD :password'), {"password": SPECIAL_PASSWORD}
        )
    yield database_url, role
    with admin.connect() as connection:
        connection.execute(text(f'DROP ROLE "{role}"'))


def problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    return raised.value.problems


def test_defaults_serve_local_development() -> None:
    settings = load_settings()
    assert settings.app_env == "development"
    url = settings.url
    assert (url.drivername, url.host, url.port, url.username, url.database) == (
        "postgresql+psycopg2",
        "localhost",
        5432,
        "chat",
        "chat",
    )


def test_parts_build_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "db")
    monkeypatch.setenv("POSTGRES_PORT", "6543")
    monkeypatch.setenv("POSTGRES_PASSWORD", SPECIAL_PASSWORD)
    url = load_settings().url
    assert (url.host, url.port, url.password) == ("db", 6543, SPECIAL_PASSWORD)
    assert SPECIAL_PASSWORD not in str(url)


def test_database_url_wins_over_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "ignored")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p%40ss@elsewhere:7000/other")
    url = load_settings().url
    assert (url.drivername, url.host, url.port, url.password, url.database) == (
        "postgresql+psycopg2",
        "elsewhere",
        7000,
        "p@ss",
        "other",
    )


def test_dotenv_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("POSTGRES_DB=from_file\nPOSTGRES_USER=file_user\n")
    monkeypatch.setenv("POSTGRES_USER", "env_user")
    url = load_settings().url
    assert (url.database, url.username) == ("from_file", "env_user")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"APP_ENV": "staging"},
            "APP_ENV: Input should be 'development', 'test' or 'production'; "
            "set it to one of: development, test, production",
        ),
        (
            {"POSTGRES_PORT": "abc"},
            "POSTGRES_PORT: Input should be a valid integer, unable to parse string as an integer; "
            "set it to a TCP port number from 1 to 65535, e.g. 5432",
        ),
        (
            {"POSTGRES_PORT": "70000"},
            "POSTGRES_PORT: Input should be less than or equal to 65535; "
            "set it to a TCP port number from 1 to 65535, e.g. 5432",
        ),
        (
            {"POSTGRES_HOST": ""},
            "POSTGRES_HOST: String should have at least 1 character; "
            "set it to the database host name, e.g. localhost",
        ),
        (
            {"DATABASE_URL": "mysql://u:secret@h/d"},
            "DATABASE_URL: the scheme 'mysql' is not postgresql; "
            "set it to postgresql://USER:PASSWORD@HOST:PORT/DB, or unset it",
        ),
        (
            {"DATABASE_URL": "not a url"},
            "DATABASE_URL: not a URL of the form postgresql://USER:PASSWORD@HOST:PORT/DB; "
            "set it to postgresql://USER:PASSWORD@HOST:PORT/DB, or unset it",
        ),
        (
            {"APP_ENV": "production"},
            "POSTGRES_PASSWORD: an empty or placeholder password is refused in production",
        ),
        (
            {"APP_ENV": "production", "POSTGRES_PASSWORD": ""},
            "POSTGRES_PASSWORD: an empty or placeholder password is refused in production",
        ),
        (
            {"APP_ENV": "production", "DATABASE_URL": "postgresql://u:postgres@h/d"},
            "DATABASE_URL: an empty or placeholder password is refused in production",
        ),
    ],
)
def test_each_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    assert problems(monkeypatch, **env) == [expected]


def test_several_problems_give_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    found = problems(monkeypatch, APP_ENV="prod", POSTGRES_PORT="x")
    assert [line.split(":")[0] for line in found] == ["APP_ENV", "POSTGRES_PORT"]


def test_production_accepts_a_real_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("POSTGRES_PASSWORD", SPECIAL_PASSWORD)
    assert load_settings().password == SPECIAL_PASSWORD


def test_entry_points_exit_2_without_echoing_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u:hunter2-secret@h/d")
    monkeypatch.setenv("POSTGRES_PORT", "0")
    with pytest.raises(SystemExit) as exited:
        settings_or_exit()
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 2
    assert err.startswith("error: ")
    assert "hunter2-secret" not in err


def test_special_character_password_connects(
    admin_url_with_role: tuple[URL, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, role = admin_url_with_role
    for name, value in {
        "POSTGRES_HOST": url.host,
        "POSTGRES_PORT": str(url.port),
        "POSTGRES_USER": role,
        "POSTGRES_PASSWORD": SPECIAL_PASSWORD,
        "POSTGRES_DB": url.database,
    }.items():
        monkeypatch.setenv(name, str(value))
    engine = create_engine(Settings().url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT current_user")) == role
    engine.dispose()
