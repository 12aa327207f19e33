"""Settings: where the database is and how the app behaves, from the environment.

One class, read from environment variables and an optional `.env` file. The database URL is
built from parts with `sqlalchemy.URL.create`, so any character in a password works, or is
taken whole from `DATABASE_URL`, which wins when set.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated, Literal, NoReturn

from dotenv.parser import parse_stream
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from chat_backend.env_encoding import NotUtf8Error, read_env_text
from chat_backend.exit_codes import BAD_INPUT

AppEnv = Literal["development", "test", "production"]
# From backend/ (the Alembic commands) and from the repository root alike.
ENV_FILES = (".env", "../.env")

# PostgreSQL's timeouts are int32 milliseconds (a larger value fails only when it is SET); the
# API's byte limit shares the bound.
INT32_MAX = 2_147_483_647
MAX_CONNECT_TIMEOUT_S = 86_400
# The API refuses a request body larger than this (413) unless API_MAX_BODY_BYTES says otherwise:
# room for a full append of messages, far below what would exhaust the server's memory.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Names the API answers to by default: loopback, and the backend's Compose service name.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]", "backend")

# The dev defaults of compose.yaml and .env.example: fine on a laptop, refused in production.
PLACEHOLDER_PASSWORDS = frozenset(
    {"", "postgres", "password", "changeme", "change-me", "chat-dev-password"}
)

# How to fix each setting, by environment variable; shown beside the problem.
FIXES = {
    "POSTGRES_HOST": "set it to the database host name, e.g. localhost",
    "POSTGRES_PORT": "set it to a TCP port number from 1 to 65535, e.g. 5432",
    "POSTGRES_USER": "set it to the database role name, e.g. chat",
    "POSTGRES_PASSWORD": "set it to the database role's password",
    "POSTGRES_DB": "set it to the database name, e.g. chat",
    "DATABASE_URL": "set it to postgresql://USER:PASSWORD@HOST:PORT/DB, or unset it",
    "APP_ENV": "set it to one of: development, test, production",
    "MIGRATION_LOCK_TIMEOUT_MS": "set it to a whole number of milliseconds up to 2147483647, "
    "e.g. 5000",
    "MIGRATION_STATEMENT_TIMEOUT_MS": "set it to a whole number of milliseconds up to "
    "2147483647, e.g. 600000",
    "MIGRATION_CONNECT_TIMEOUT_S": "set it to a number of seconds up to 86400, e.g. 10",
    "MIGRATION_SOURCE_KEY_FILE": "set it to a file path outside git, e.g. "
    "~/.local/state/chat-backend/migration-source.key",
    "API_MAX_BODY_BYTES": "set it to a whole number of bytes up to 2147483647, e.g. 1048576",
    "API_STATEMENT_TIMEOUT_MS": "set it to a whole number of milliseconds up to 2147483647, "
    "e.g. 5000",
    "API_LOCK_TIMEOUT_MS": "set it to a whole number of milliseconds up to 2147483647, e.g. 2000",
    "API_ALLOWED_HOSTS": "set it to host names separated by commas, e.g. api.example.com",
    "CHECKOUT_DIR": "set it to the directory of the project's git checkout, e.g. /app/checkout, "
    "or unset it",
    "PARKED_BRANCHES_MAX": "set it to a whole number of parked copies from 0 to 100, e.g. 5",
}


class ConfigError(Exception):
    """The environment holds missing or invalid settings; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    """Every setting of the backend and its migrations."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILES,
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    app_env: AppEnv = "development"

    # Database, in parts. The default host serves commands run on the developer's machine;
    # compose.yaml sets POSTGRES_HOST=db and POSTGRES_PORT=5432 for the containers.
    postgres_host: str = Field(default="localhost", min_length=1)
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_user: str = Field(default="chat", min_length=1)
    postgres_password: SecretStr = SecretStr("chat-dev-password")
    postgres_db: str = Field(default="chat", min_length=1)
    # ... or whole, winning over the parts.
    database_url: SecretStr | None = None

    # A migration waits at most this long for a table lock, and runs at most this long per
    # statement, so that it fails fast instead of freezing the application.
    migration_lock_timeout_ms: int = Field(default=5_000, ge=0, le=INT32_MAX)
    migration_statement_timeout_ms: int = Field(default=600_000, ge=0, le=INT32_MAX)
    # ... and keeps trying this long to reach a database that is not up yet.
    migration_connect_timeout_s: float = Field(
        default=10.0, ge=0, le=MAX_CONNECT_TIMEOUT_S, allow_inf_nan=False
    )
    # The key that proves a stored revision source was written by this clone's migrator
    # (db/source_proofs): outside the database and outside git. compose.yaml keeps it in a
    # volume of the stack.
    migration_source_key_file: Path = Path("~/.local/state/chat-backend/migration-source.key")

    # The API: the largest request body it reads; how long a data request may wait for a row
    # lock or run before it is answered 503 (so that one slow lock cannot take every worker);
    # and the host names it answers to besides DEFAULT_ALLOWED_HOSTS (a browser page on
    # another name could otherwise reach it by DNS rebinding), comma-separated.
    api_max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1, le=INT32_MAX)
    api_statement_timeout_ms: int = Field(default=5_000, ge=1, le=INT32_MAX)
    api_lock_timeout_ms: int = Field(default=2_000, ge=1, le=INT32_MAX)
    api_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()

    # Branch data (db/branch_switch): the git checkout whose branch the migrator serves data
    # for (compose.yaml mounts the project there; unset: no branch switching), and how many
    # other branches' parked copies are kept (the least recently used go first).
    checkout_dir: Path | None = None
    parked_branches_max: int = Field(default=5, ge=0, le=100)

    @field_validator("database_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _url_is_postgresql(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_postgres_url(value.get_secret_value())
        return value

    @field_validator("api_allowed_hosts", mode="before")
    @classmethod
    def _hosts_are_comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @model_validator(mode="after")
    def _production_has_a_real_password(self) -> Settings:
        if self.app_env == "production" and self.password in PLACEHOLDER_PASSWORDS:
            field = "DATABASE_URL" if self.database_url else "POSTGRES_PASSWORD"
            raise ValueError(f"{field}: an empty or placeholder password is refused in production")
        return self

    @property
    def allowed_hosts(self) -> list[str]:
        """Every host name the API answers to."""
        return [*DEFAULT_ALLOWED_HOSTS, *self.api_allowed_hosts]

    @property
    def password(self) -> str:
        return self.url.password or ""

    @property
    def url(self) -> URL:
        """The database URL, with the password kept out of its string form."""
        if self.database_url is not None:
            return parse_postgres_url(self.database_url.get_secret_value())
        return URL.create(
            "postgresql+psycopg2",
            username=self.postgres_user,
            password=self.postgres_password.get_secret_value(),
            host=self.postgres_host,
            port=self.postgres_port,
            database=self.postgres_db,
        )


def parse_postgres_url(raw: str) -> URL:
    """Parse a PostgreSQL URL; `postgres://` and driverless forms get the psycopg2 driver.

    A password with an unescaped `@` shifts the host (and port, database) into the password's
    tail, which every later message would then show: refused, naming no part of it."""
    if raw.partition("?")[0].count("@") > 1:
        raise ValueError(
            "the password holds an unescaped @ or : (more than one @ before the host); "
            "percent-encode the password (@ as %40, : as %3A, / as %2F)"
        )
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError("not a URL of the form postgresql://USER:PASSWORD@HOST:PORT/DB") from None
    if url.drivername in {"postgres", "postgresql"}:
        url = url.set(drivername="postgresql+psycopg2")
    if url.drivername != "postgresql+psycopg2":
        raise ValueError(f"the scheme {url.drivername!r} is not postgresql")
    return url


def load_settings() -> Settings:
    """Read the settings, or raise ConfigError with one line per problem (no values shown)."""
    unreadable = _unreadable_env_lines()
    if unreadable:
        raise ConfigError(unreadable)
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError([_describe(detail) for detail in error.errors()]) from None


def settings_or_exit() -> Settings:
    """For command-line entry points: the settings, or the problems on stderr and exit 2."""
    try:
        return load_settings()
    except ConfigError as error:
        exit_with_problems(error.problems)


def exit_with_problems(problems: list[str], code: int = BAD_INPUT) -> NoReturn:
    """Print each problem as one `error:` line on stderr and exit (by default: bad input)."""
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(code)


def _unreadable_env_lines() -> list[str]:
    # python-dotenv skips a line it cannot parse with a mere warning, and the setting meant
    # there silently keeps its default (a dev password, say); Compose refuses such a file too.
    problems = []
    for path in map(Path, ENV_FILES):
        if not path.is_file():
            continue
        try:
            content = read_env_text(path)
        except NotUtf8Error as error:
            problems.append(f"{path.resolve()} {error}")
            continue
        problems += [
            f"{path.resolve()} line {binding.original.line}: not a NAME=value setting; "
            "fix it (quote a value that holds spaces, $ or #) or comment it out with #"
            for binding in parse_stream(io.StringIO(content))
            if binding.error
        ]
    return problems


def _describe(detail: object) -> str:
    # Built from the field name and pydantic's message only: the input (maybe a password)
    # is never part of the line.
    assert isinstance(detail, dict)
    location = detail.get("loc") or ()
    message = str(detail.get("msg", "invalid value")).removeprefix("Value error, ")
    if not location:  # a model-level check names its variable in the message itself
        return message
    variable = str(location[0]).upper()
    return f"{variable}: {message}; {FIXES.get(variable, 'correct it')}"
