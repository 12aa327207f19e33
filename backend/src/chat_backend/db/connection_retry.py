"""Connecting to a database that may not be up yet: retry with backoff for a bounded time, then
fail with one line that names the host, the port and the fix (never the password).

A server that answers and rejects the login (wrong password, unknown role or database) is not
retried: waiting would not change its answer.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from chat_backend.config import Settings

log = logging.getLogger("alembic.runtime.migration")

FIRST_DELAY_S = 0.25
MAX_DELAY_S = 2.0
# Refusals the server gives while it starts, stops or is full: worth waiting out.
PASSING_REFUSALS = (
    "starting up",
    "shutting down",
    "not yet accepting connections",
    "in recovery mode",
    "too many clients",
)
# What the server says when it rejects a setting, the variable to correct, and how.
REJECTIONS = (
    # Also what the server says for a role that does not exist: it tells no one which roles do.
    (
        "password authentication failed",
        "POSTGRES_PASSWORD",
        "set it to the password of that role, or POSTGRES_USER to another role (the db volume "
        "keeps the password of its first start; `make reset HARD=1` recreates it)",
    ),
    ("role", "POSTGRES_USER", "set it to a role that exists on the server"),
    ("database", "POSTGRES_DB", "set it to a database that exists on the server"),
)


class DatabaseUnreachableError(Exception):
    """The database refused the login or never answered; the message is one line to show."""


def connect(engine: Engine, settings: Settings) -> Connection:
    """A connection from `engine`, retrying for MIGRATION_CONNECT_TIMEOUT_S while the server
    cannot be reached; raises DatabaseUnreachableError once retrying cannot help."""
    deadline = time.monotonic() + settings.migration_connect_timeout_s
    delay = FIRST_DELAY_S
    while True:
        try:
            return engine.connect()
        except OperationalError as error:
            reason = _reason(error)
            if "FATAL" in reason and not any(word in reason for word in PASSING_REFUSALS):
                raise DatabaseUnreachableError(_rejected(settings, reason)) from None
            if time.monotonic() + delay > deadline:
                raise DatabaseUnreachableError(_unreachable(settings, reason)) from None
            log.info(
                "The database at %s is not reachable yet (%s); retrying.", _where(settings), reason
            )
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)


def _reason(error: OperationalError) -> str:
    # psycopg2: 'connection to server at "db" (172.18.0.2), port 5432 failed: Connection refused'
    # on the first line; the host and port are said once, by _where.
    first_line = str(error.orig or error).strip().splitlines()[0]
    return first_line.rpartition(" failed: ")[2].replace("FATAL:  ", "FATAL: ")


def _where(settings: Settings) -> str:
    url = settings.url
    return f"{url.host}:{url.port or 5432}"


def _rejected(settings: Settings, reason: str) -> str:
    detail = reason.removeprefix("FATAL: ")
    variable, fix = next(
        ((variable, fix) for word, variable, fix in REJECTIONS if detail.startswith(word)),
        ("POSTGRES_USER, POSTGRES_PASSWORD or POSTGRES_DB", "correct it"),
    )
    if settings.database_url is not None:
        variable, fix = "DATABASE_URL", "correct the user, password or database in it"
    return f"{variable}: the database at {_where(settings)} refused the login: {detail}; {fix}"


def _unreachable(settings: Settings, reason: str) -> str:
    variables = "DATABASE_URL" if settings.database_url else "POSTGRES_HOST and POSTGRES_PORT"
    return (
        f"cannot reach the database at {_where(settings)} ({reason}) after trying for "
        f"{settings.migration_connect_timeout_s:g} s: start it (`make up`), check that "
        f"{variables} point at it, or wait longer with MIGRATION_CONNECT_TIMEOUT_S"
    )
