"""The one guard in front of everything that replaces, deletes or rolls back data on its own:
reset, snapshots and restore, the migrated template, rollbacks, the phantom rollback, parked
copies, renumbering. There is deliberately no flag to override it.

It judges what libpq will do and did (libpq_target), never a host name from our settings:

1. APP_ENV is development or test;
2. before connecting, each endpoint of libpq's effective options (after PGHOST, PGHOSTADDR,
   service files and host lists) is a Unix socket, a loopback address, `localhost`, or the
   Compose service `db` from inside a Compose network: nothing is resolved to decide;
3. once connected, the address libpq really reached is a Unix socket, a loopback address, or
   the one `db` resolves to inside a Compose network (Docker's own DNS). On the host, `db` is
   a name like any other, which /etc/hosts or DNS may send to another machine;
4. the database says it is a development or test one (environment_marker). Loopback proves
   nothing through `ssh -L 5432:prod:5432`; the production database's own marker does.

Imports nothing heavy (psycopg2, no SQLAlchemy), so the fast local-database commands use it too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chat_backend.db import environment_marker
from chat_backend.db.libpq_target import (
    Connected,
    UnresolvedError,
    connected_to,
    effective_options,
    endpoints,
)

LOCAL_APP_ENVS = environment_marker.DISPOSABLE
# The Compose service, as the stack's containers reach the database (compose.yaml).
COMPOSE_SERVICE = "db"
# Docker's embedded DNS server: the resolver of a container on a user-defined network (every
# Compose network), which answers service names with the project's own containers. Not a
# marker of "some container" (/.dockerenv): CI runners and dev machines are containers too.
COMPOSE_RESOLV_CONF = Path("/etc/resolv.conf")
EMBEDDED_DNS = "127.0.0.11"
FIX = (
    "point POSTGRES_HOST (or DATABASE_URL) at the Compose service db or at localhost, and "
    "unset PGHOST, PGHOSTADDR and PGSERVICE"
)
MARK = "make mark-database env=development"


class RefusedError(Exception):
    """The database is not a local development one; the message says why, in one line."""


def refusal(
    app_env: str,
    *,
    options: Mapping[str, object] | None = None,
    session: Any = None,
    marker: bool = True,
) -> str | None:
    """Why data must not be replaced, deleted or rolled back on the database that
    psycopg2.connect(**options) would reach, or that `session` (an open psycopg2 connection)
    did reach; None if it may. `marker=False` judges only where the session went: an admin
    session on the server's maintenance database, whose caller judged the database itself."""
    if app_env not in LOCAL_APP_ENVS:
        return (
            f"refusing to replace, delete or roll back data when APP_ENV is {app_env!r}: these "
            "commands only touch a development or test database (APP_ENV=development, the "
            "local stack's default)"
        )
    if options is not None:
        reason = _options_refusal(options)
        if reason is not None:
            return reason
    if session is None:
        return None
    where = connected_to(session)
    if not is_local(where):
        shown = where.address or where.host or "an unknown address"
        return (
            f"refusing to replace or delete a database on host {shown!r}, which is not local: {FIX}"
        )
    return _marker_refusal(session) if marker else None


def require_local(
    app_env: str,
    *,
    options: Mapping[str, object] | None = None,
    session: Any = None,
    marker: bool = True,
) -> None:
    """Raise RefusedError unless the database is a local development one (see refusal)."""
    reason = refusal(app_env, options=options, session=session, marker=marker)
    if reason is not None:
        raise RefusedError(reason)


def is_local(where: Connected) -> bool:
    """A Unix socket, a loopback address, or the stack's `db` from inside the stack."""
    if where.is_socket or _is_loopback(where.address):
        return True
    return (
        where.host == COMPOSE_SERVICE
        and _in_compose_network()
        and where.address in _addresses_of(COMPOSE_SERVICE)
    )


def _options_refusal(options: Mapping[str, object]) -> str | None:
    try:
        where = endpoints(effective_options(options))
    except UnresolvedError as error:
        return f"refusing to replace or delete a database libpq cannot place: {error}; {FIX}"
    remote = [endpoint for endpoint in where if not _is_local_endpoint(endpoint)]
    if not remote:
        return None
    listed = f" (libpq's host list: {', '.join(map(repr, where))})" if len(where) > 1 else ""
    return (
        f"refusing to replace or delete a database on host {remote[0]!r}, which is not "
        f"local{listed}: {FIX}"
    )


def _is_local_endpoint(endpoint: str) -> bool:
    """An endpoint before connecting: judged as written, nothing resolved."""
    if not endpoint or endpoint.startswith(("/", "@")):
        return True
    if endpoint.lower() == "localhost" or _is_loopback(endpoint.strip("[]")):
        return True
    return endpoint == COMPOSE_SERVICE and _in_compose_network()


def _marker_refusal(session: Any) -> str | None:
    database = session.info.dbname
    environment = environment_marker.read(session)
    if environment in LOCAL_APP_ENVS:
        return None
    says = (
        "carries no environment marker"
        if environment is None
        else f"says it is a {environment!r} database"
    )
    return (
        f"refusing to replace, delete or roll back data in database {database!r}: it {says}, "
        "and only a development or test database may be (a production server reached "
        f"through an SSH tunnel looks local too); if it really is a development one: {MARK}"
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _in_compose_network() -> bool:
    try:
        lines = COMPOSE_RESOLV_CONF.read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[:2] == ["nameserver", EMBEDDED_DNS] for line in lines)


def _addresses_of(name: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except OSError:
        return set()
