"""The database a local-database command acts on: where it is, and the environment (APP_ENV)
it belongs to.

Inside the migrator and backend containers Compose sets every variable, so the target is read
straight from the environment: Settings needs pydantic and SQLAlchemy, whose imports alone take
about a second, and a reset must take well under one. Anywhere else (a .env file, DATABASE_URL,
a variable left to its default) Settings decides, so the two readings never disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import URL

# What Compose sets for both backend roles (compose.yaml); all of them, or Settings decides.
# Copies of config's names, kept equal by tests/test_local_target.py: importing config would
# import pydantic and SQLAlchemy.
COMPOSE_VARIABLES = (
    "APP_ENV",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
)
# Where Settings looks for a .env file, relative to the working directory (config.Settings).
ENV_FILES = (".env", "../.env")


@dataclass(frozen=True)
class Target:
    """A database on a PostgreSQL server, and the APP_ENV it serves."""

    app_env: str
    host: str | None
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    # libpq options from the URL's query (`?host=...&hostaddr=...`): SQLAlchemy passes them
    # to the driver, where they win over the parts above.
    query: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_url(cls, url: URL, app_env: str) -> Target:
        return cls(
            app_env=app_env,
            host=url.host,
            port=url.port or 5432,
            user=url.username or "",
            password=url.password or "",
            database=url.database or "",
            query=tuple(
                (key, value if isinstance(value, str) else ",".join(value))
                for key, value in url.query.items()
            ),
        )

    def connect_options(self, database: str) -> dict[str, object]:
        """psycopg2.connect's keywords for `database` on this server, as SQLAlchemy builds
        them from the URL (the query's options last, so they win)."""
        options: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": database,
        }
        return {**options, **dict(self.query)}

    def url(self, database: str) -> URL:
        """A SQLAlchemy URL of `database` on this server (imports SQLAlchemy: slow path only)."""
        from sqlalchemy import URL

        return URL.create(
            "postgresql+psycopg2",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database,
            query=dict(self.query),
        )


def load_target(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Target:
    """The target of this process's settings; exits 2 with one line per bad setting."""
    from_environ = _from_environ(os.environ if environ is None else environ, cwd or Path.cwd())
    return from_environ or _from_settings()


def _from_environ(environ: Mapping[str, str], cwd: Path) -> Target | None:
    if "DATABASE_URL" in environ or any((cwd / name).is_file() for name in ENV_FILES):
        return None
    if not all(environ.get(name) for name in COMPOSE_VARIABLES):
        return None
    if not environ["POSTGRES_PORT"].isdigit():
        return None  # Settings names the problem and the fix
    return Target(
        app_env=environ["APP_ENV"],
        host=environ["POSTGRES_HOST"],
        port=int(environ["POSTGRES_PORT"]),
        user=environ["POSTGRES_USER"],
        password=environ["POSTGRES_PASSWORD"],
        database=environ["POSTGRES_DB"],
    )


def _from_settings() -> Target:
    from chat_backend.config import settings_or_exit

    settings = settings_or_exit()
    return Target.from_url(settings.url, settings.app_env)
