"""Data routes that serve only while the database's schema is at the code's head (503 with the
guard's problem otherwise).

The check wraps each route's handler instead of being a FastAPI dependency: a dependency is
resolved on every request, and this one almost always answers from the guard's recent
comparison without any I/O. Only a stale answer (older than the guard's 2 s) waits for a new
comparison, on the health threads.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.to_thread
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from chat_backend.api.errors import schema_not_ready
from chat_backend.db.schema_state import SchemaGuard

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def guarded_route(guard: SchemaGuard, threads: anyio.CapacityLimiter) -> type[APIRoute]:
    """An APIRoute class whose handlers first check `guard`."""

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                state = guard.recent()
                if state is None:
                    state = await anyio.to_thread.run_sync(guard.current, limiter=threads)
                if state.problem is not None:
                    raise schema_not_ready(state.problem)
                return await handler(request)

            return guarded

    return GuardedRoute
