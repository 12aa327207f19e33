"""Data routes that serve only while the database's schema is at the code's head (503 with the
guard's problem otherwise).

The check wraps each route's handler instead of being a FastAPI dependency: a dependency is
resolved on every request, and this one almost always answers from the guard's recent
comparison without any I/O. Only a stale answer (older than the guard's 2 s) waits for a new
comparison, on the health threads: one comparison, which every request arriving meanwhile
awaits, instead of each taking a thread hop and queueing for the guard's two threads (which
put a burst of slow requests into every 2 s under load).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.to_thread
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from chat_backend.api.errors import schema_not_ready
from chat_backend.db.schema_state import SchemaGuard, SchemaState

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class SharedCheck:
    """The guard's answer: the recent one, or the one comparison in flight (started by the
    first request to find the answer stale)."""

    def __init__(self, guard: SchemaGuard, threads: anyio.CapacityLimiter) -> None:
        self._guard = guard
        self._threads = threads
        self._pending: asyncio.Future[SchemaState] | None = None

    async def state(self) -> SchemaState:
        state = self._guard.recent()
        if state is not None:
            return state
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(
                anyio.to_thread.run_sync(self._guard.current, limiter=self._threads)
            )
        # Shielded: a request cancelled while it waits must not cancel the others' answer.
        return await asyncio.shield(self._pending)


def guarded_route(guard: SchemaGuard, threads: anyio.CapacityLimiter) -> type[APIRoute]:
    """An APIRoute class whose handlers first check `guard`."""
    check = SharedCheck(guard, threads)

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                state = await check.state()
                if state.problem is not None:
                    raise schema_not_ready(state.problem)
                return await handler(request)

            return guarded

    return GuardedRoute
