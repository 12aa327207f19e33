"""What counts as a local development database: the one test for every command that replaces,
deletes or rolls back data on its own (local_db's guard, the phantom rollback, `make renumber`).

Imports nothing heavy, so the fast local-database commands can use it too.
"""

from __future__ import annotations

import ipaddress

LOCAL_APP_ENVS = frozenset({"development", "test"})
# The Compose service, as the containers reach the database, and the loopback name.
LOCAL_HOST_NAMES = frozenset({"db", "localhost"})


def is_local_host(host: str | None) -> bool:
    """The Compose `db` service, a loopback name or address, or a Unix socket (no host, a
    socket directory, or an abstract socket)."""
    if not host or host.startswith(("/", "@")):
        return True
    if host.lower() in LOCAL_HOST_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
