"""The guard in front of every command that replaces or deletes a database: it lets them act
on a local development database only. There is deliberately no flag to override it."""

from __future__ import annotations

import ipaddress

LOCAL_APP_ENVS = frozenset({"development", "test"})
# The Compose service, as the containers reach the database, and the loopback name.
LOCAL_HOST_NAMES = frozenset({"db", "localhost"})


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


def is_local_host(host: str | None) -> bool:
    """The Compose `db` service, a loopback name or address, or a Unix socket (no host, or a
    socket directory)."""
    if not host or host.startswith("/"):
        return True
    if host.lower() in LOCAL_HOST_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
