"""The guard in front of every command that replaces or deletes a database: it lets them act
on a local development database only. There is deliberately no flag to override it."""

from __future__ import annotations

from chat_backend.db.local_database import LOCAL_APP_ENVS, is_local_host


class RefusedError(Exception):
    """The database is not a local development one; the message says why, in one line."""


def refusal(app_env: str, host: str | None) -> str | None:
    """Why the database of `app_env` on `host` must not be replaced or deleted; None if it may."""
    if app_env not in LOCAL_APP_ENVS:
        return (
            f"refusing to replace or delete a database when APP_ENV is {app_env!r}: these "
            "commands only touch a development or test database (APP_ENV=development, the "
            "local stack's default)"
        )
    if not is_local_host(host):
        return (
            f"refusing to replace or delete a database on host {host!r}, which is not local: "
            "point POSTGRES_HOST (or DATABASE_URL) at the Compose service db or at localhost"
        )
    return None


def require_local(app_env: str, host: str | None) -> None:
    """Raise RefusedError unless the database is a local development one."""
    reason = refusal(app_env, host)
    if reason is not None:
        raise RefusedError(reason)
