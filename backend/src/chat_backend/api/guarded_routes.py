"""Data routes that serve only while the database's schema is at the code's head (503 with the
guard's problem otherwise).

The check wraps each route's handler instead of being a FastAPI dependency: a dependency is
resolved on every request, and this one answers from the guard's recent comparison without
any I/O. The next comparison starts in the background, on the health threads, as soon as a
request finds the answer past half its 2 s; the requests meanwhile are served from the
answer, which is still within its 2 s. Only an answer older than 2 s (an idle server, or a
comparison slower than a second) makes requests wait: for one comparison, the one in flight
or a new one, shared by every request arriving meanwhile. Waiting for it every 2 s under load
(the comparison's queries queue behind the data's) was the API's slowest percent of requests.
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
    """The guard's answer: the recent one (starting the next comparison once it is past half
    its age), or else the one comparison in flight, which a stale answer makes requests await."""

    def __init__(self, guard: SchemaGuard, threads: anyio.CapacityLimiter) -> None:
        self._guard = guard
        self._threads = threads
        self._pending: asyncio.Future[SchemaState] | None = None

    async def state(self) -> SchemaState:
        state = self._guard.recent()
        if state is None:
            # Shielded: a request cancelled while it waits must not cancel the others' answer.
            return await asyncio.shield(self._comparison(self._guard.current))
        if self._guard.due():
            self._comparison(self._guard.refresh)
        return state

    def _comparison(self, compare: Callable[[], SchemaState]) -> asyncio.Future[SchemaState]:
        """The comparison in flight, or a new one by `compare` on the health threads."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(
                anyio.to_thread.run_sync(compare, limiter=self._threads)
            )
            # A failure nobody awaited is not lost: the request that next finds the answer
            # stale compares again, and its error is answered and logged.
            self._pending.add_done_callback(_retrieve)
        return self._pending


def _retrieve(comparison: asyncio.Future[SchemaState]) -> None:
    if not comparison.cancelled():
        comparison.exception()


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
