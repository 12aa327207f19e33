"""The guard in front of every command that replaces or deletes a database: it lets them act
on a local development database only. There is deliberately no flag to override it.

The host is judged as libpq will use it (local_db.libpq_target): with PGHOST, PGHOSTADDR, a
service file, URL query parameters and every entry of a host list, not just our settings.
Anything it cannot resolve is refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from chat_backend.db.local_database import LOCAL_APP_ENVS, is_local_host
from chat_backend.local_db.libpq_target import UnresolvedError, effective_options, endpoints

FIX = (
    "point POSTGRES_HOST (or DATABASE_URL) at the Compose service db or at localhost, and "
    "unset PGHOST, PGHOSTADDR and PGSERVICE"
)


class RefusedError(Exception):
    """The database is not a local development one; the message says why, in one line."""


def refusal(app_env: str, options: Mapping[str, object]) -> str | None:
    """Why the database of `app_env` that psycopg2.connect(**options) reaches must not be
    replaced or deleted; None if it may."""
    if app_env not in LOCAL_APP_ENVS:
        return (
            f"refusing to replace or delete a database when APP_ENV is {app_env!r}: these "
            "commands only touch a development or test database (APP_ENV=development, the "
            "local stack's default)"
        )
    try:
        where = endpoints(effective_options(options))
    except UnresolvedError as error:
        return f"refusing to replace or delete a database libpq cannot place: {error}; {FIX}"
    return refusal_of_endpoints(where)


def refusal_of_endpoints(where: list[str]) -> str | None:
    """Why a connection to these libpq endpoints (one per host-list entry) is not local."""
    remote = [endpoint for endpoint in where if not is_local_host(endpoint)]
    if not remote:
        return None
    listed = f" (libpq's host list: {', '.join(map(repr, where))})" if len(where) > 1 else ""
    return (
        f"refusing to replace or delete a database on host {remote[0]!r}, which is not "
        f"local{listed}: {FIX}"
    )


def require_local(app_env: str, options: Mapping[str, object]) -> None:
    """Raise RefusedError unless the database is a local development one."""
    reason = refusal(app_env, options)
    if reason is not None:
        raise RefusedError(reason)
