"""`python -m chat_backend.db.wait_for_head --timeout 300`: wait until the database's schema is at
the head of this image's migrations.

For the backend's init container on Kubernetes (deploy/kubernetes): the pods start only once a
migrator (the release's Job) has brought the schema to the head their code needs. Prints a line
each time what it sees changes; exits 0 at head; after the timeout, exits 1 with one line on
stderr saying where the database is and what to do. Bad settings exit 2, as everywhere.

It only reads: migrating is the migrator's job, under the migrators' lock.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from chat_backend.config import Settings, exit_with_problems, settings_or_exit
from chat_backend.db.engine import CONNECT_TIMEOUT_S
from chat_backend.db.schema_state import CodeSchema, database_revision, load_code_schema

POLL_INTERVAL_S = 1.0
# Its own name in pg_stat_activity, so a DBA can tell the waiting pods from the backend.
APPLICATION_NAME = "chat-backend-wait-for-head"


class NotAtHead(NamedTuple):
    """What keeps the database from being at head, and what would change that."""

    problem: str
    fix: str


def wait_for_head(
    engine: Engine,
    code: CodeSchema,
    timeout_s: float,
    *,
    report: Callable[[str], None],
) -> str | None:
    """None once the database is at `code`'s head; after `timeout_s` seconds, the one line
    that says why it is not. `report` hears each new observation."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        seen = _observe(engine, code)
        if seen is None:
            report(f"The database is at head {code.head!r}.")
            return None
        if seen != last:
            report(f"Waiting up to {timeout_s:g} s: {seen.problem}.")
            last = seen
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"gave up after {timeout_s:g} s: {seen.problem}; {seen.fix}"
        time.sleep(min(POLL_INTERVAL_S, remaining))  # between looks, not a wait for anything


def _observe(engine: Engine, code: CodeSchema) -> NotAtHead | None:
    where = _where(engine)
    try:
        revision = database_revision(engine)
    except (DBAPIError, PoolTimeoutError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return NotAtHead(
            f"the database at {where} does not answer ({reason})",
            "check that it runs and that POSTGRES_HOST and POSTGRES_PORT (or DATABASE_URL) "
            "point at it",
        )
    if revision == code.head:
        return None
    if revision is not None and revision not in code.revisions:
        return NotAtHead(
            f"the database at {where} is at revision {revision!r}, which this image does not "
            f"know (its head is {code.head!r})",
            "deploy the image whose migrations have that revision",
        )
    return NotAtHead(
        f"the database at {where} is at revision {revision or 'base (empty)'}, and this image "
        f"needs {code.head!r}",
        "run this image's migrator (`alembic upgrade head`: the chat-backend-migrate Job) and "
        "read its log, or wait longer with --timeout",
    )


def _where(engine: Engine) -> str:
    url = engine.url
    return f"{url.host}:{url.port or 5432}/{url.database}"


def make_waiting_engine(settings: Settings) -> Engine:
    return create_engine(
        settings.url,
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": APPLICATION_NAME},
    )


def _say(line: str) -> None:
    print(line, flush=True)  # at once, even into a pipe: the pod's log shows what it waits for


def seconds(value: str) -> float:
    number = float(value)
    if not number >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chat_backend.db.wait_for_head",
        description="Wait until the database's schema is at the head of these migrations.",
    )
    parser.add_argument(
        "--timeout", type=seconds, default=300.0, help="seconds to wait (default: 300)"
    )
    timeout_s = parser.parse_args(argv).timeout
    settings = settings_or_exit()
    try:
        code = load_code_schema()
    except ValueError as error:
        exit_with_problems([str(error)])
    engine = make_waiting_engine(settings)
    try:
        problem = wait_for_head(engine, code, timeout_s, report=_say)
    finally:
        engine.dispose()
    if problem is not None:
        exit_with_problems([problem], code=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
