"""Where libpq will really connect, and where it did, asked of libpq itself.

Our settings are only part of the story: libpq fills every option they leave out from a
service file (`service=` or PGSERVICE), then from its environment variables (PGHOST,
PGHOSTADDR, PGPORT, ...), and a host may be a comma-separated list that it tries in turn. A
guard that judged our settings alone would pass `postgresql://u:pw@:5432/app` as "no host,
so a local socket" while libpq connects wherever PGHOST says.

Before connecting, the options are parsed by libpq's own PQconninfoParse (psycopg2's
`parse_dsn`) and completed by its own PQconndefaults (through psycopg2's copy of libpq, the
very library that will connect): explicit options win, then the service file, then the
environment, then the compiled-in defaults, exactly as when connecting (`effective_options`,
`endpoints`). Once connected, libpq says where it went (`connected_to`): PQhost is only the
name it was given (a `localhost` beside a remote PGHOSTADDR), PQhostaddr is the IP address it
really reached, and an empty address means a Unix socket.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg2  # type: ignore[import-untyped]
from psycopg2.extensions import make_dsn, parse_dsn  # type: ignore[import-untyped]


@dataclass(frozen=True)
class Connected:
    """Where a connection went: the host libpq was given, and the address it reached."""

    host: str
    address: str

    @property
    def is_socket(self) -> bool:
        return not self.address and self.host.startswith(("/", "@"))


class UnresolvedError(Exception):
    """libpq's options cannot be resolved to hosts; the message says which, in one line."""


class _ConninfoOption(ctypes.Structure):
    """libpq's PQconninfoOption."""

    _fields_ = (
        ("keyword", ctypes.c_char_p),
        ("envvar", ctypes.c_char_p),
        ("compiled", ctypes.c_char_p),
        ("val", ctypes.c_char_p),
        ("label", ctypes.c_char_p),
        ("dispchar", ctypes.c_char_p),
        ("dispsize", ctypes.c_int),
    )


@cache
def _libpq() -> ctypes.CDLL:
    # psycopg2's extension module is linked against the libpq it connects with; symbols are
    # looked up through its dependencies, so this is that very library.
    library = ctypes.CDLL(psycopg2._psycopg.__file__)
    library.PQconndefaults.restype = ctypes.POINTER(_ConninfoOption)
    library.PQconninfoFree.argtypes = (ctypes.POINTER(_ConninfoOption),)
    for function in (library.PQhost, library.PQhostaddr):
        function.restype = ctypes.c_char_p
        function.argtypes = (ctypes.c_void_p,)
    return library


def effective_options(options: Mapping[str, object]) -> dict[str, str]:
    """The options libpq connects with when psycopg2.connect(**options) is called."""
    try:
        explicit: dict[str, str] = parse_dsn(make_dsn(**options))
    except psycopg2.ProgrammingError as error:
        raise UnresolvedError(f"libpq cannot parse the connection options: {error}") from None
    with _service(explicit.get("service")):
        defaults = _defaults()
    return {**defaults, **explicit}


def connected_to(session: Any) -> Connected:
    """Where the open psycopg2 connection `session` went, as its libpq says."""
    library = _libpq()
    pointer = session.pgconn_ptr
    return Connected(
        host=(library.PQhost(pointer) or b"").decode(),
        address=(library.PQhostaddr(pointer) or b"").decode(),
    )


def endpoints(options: Mapping[str, str]) -> list[str]:
    """What libpq connects to, entry by entry of the host list: an IP address (hostaddr), a
    host name, a Unix-socket directory, or "" for the default socket."""
    hosts = _entries(options.get("host"))
    addresses = _entries(options.get("hostaddr"))
    if hosts and addresses and len(hosts) != len(addresses):
        raise UnresolvedError(
            f"host lists {len(hosts)} entries but hostaddr {len(addresses)} (libpq refuses it)"
        )
    count = max(len(hosts), len(addresses), 1)
    return [
        (addresses[i] if addresses else "") or (hosts[i] if hosts else "") for i in range(count)
    ]


def _entries(value: str | None) -> list[str]:
    return [entry.strip() for entry in value.split(",")] if value else []


def _defaults() -> dict[str, str]:
    library = _libpq()
    options = library.PQconndefaults()
    if not options:
        raise UnresolvedError("libpq cannot read its defaults (out of memory)")
    try:
        found = {}
        index = 0
        while options[index].keyword:
            option = options[index]
            if option.val is not None:
                found[option.keyword.decode()] = option.val.decode()
            index += 1
        return found
    finally:
        library.PQconninfoFree(options)


@contextmanager
def _service(name: str | None) -> Iterator[None]:
    """PQconndefaults reads the service named by PGSERVICE only; a `service=` option names it
    for the duration of the call (libpq reads it the same way when connecting)."""
    if name is None:
        yield
        return
    before = os.environ.get("PGSERVICE")
    os.environ["PGSERVICE"] = name
    try:
        yield
    finally:
        if before is None:
            del os.environ["PGSERVICE"]
        else:
            os.environ["PGSERVICE"] = before
