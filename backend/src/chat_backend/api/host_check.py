"""The Host header check: the API answers only to the names it is served under (a web page
whose name an attacker points at 127.0.0.1 cannot read or write through the browser).

Starlette's TrustedHostMiddleware decides (its parsing, wildcards and answers, unchanged), once
per Host header value: a value it let through is remembered, and later requests carrying the
same bytes go straight on. Clients send the same few values (`localhost:8000`, `backend:8000`)
on every request, and parsing each costs more than the lookup. A refused value is never
remembered, and at most MAX_REMEMBERED are, so a client cycling through ports cannot grow
the set.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_REMEMBERED = 64


class HostCheck:
    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self._check = TrustedHostMiddleware(self._remember, allowed_hosts=allowed_hosts)
        self._allowed: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # (The lifespan has no Host to check.)
        unchecked = scope["type"] not in ("http", "websocket")
        if unchecked or host_header(scope) in self._allowed:
            await self.app(scope, receive, send)
        else:
            await self._check(scope, receive, send)

    async def _remember(self, scope: Scope, receive: Receive, send: Send) -> None:
        """What the check calls for a request it lets through."""
        host = host_header(scope)
        if host is not None and len(self._allowed) < MAX_REMEMBERED:
            self._allowed.add(host)
        await self.app(scope, receive, send)


def host_header(scope: Scope) -> bytes | None:
    """The first Host header's raw value (the one Starlette reads), or None."""
    for name, value in scope["headers"]:
        if name == b"host":
            return bytes(value)
    return None
