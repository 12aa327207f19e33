"""Routes called straight with the UUID in their path, past FastAPI's request handling.

FastAPI solves a route's parameters on every request (its dependency solver, even for a lone
path parameter), which cost about an eighth of the busiest read, GET /chats/{id}, more than
its query's Python. A route marked `@uuid_path("chat_id")` takes only that parameter and
returns a Response; when the path holds a UUID in its canonical form (what clients send, and
what the API returns), the endpoint is called with it directly. Any other value goes through
FastAPI as before, which accepts the other forms pydantic accepts and answers the rest 422.
The route stays a FastAPI route: routing, the OpenAPI schema and the error handlers are
unchanged.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Coroutine[Any, Any, Response]])

CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
MARK = "_uuid_path_parameter"


def uuid_path(name: str) -> Callable[[Endpoint], Endpoint]:
    """Marks an endpoint whose only parameter is the UUID path parameter `name`."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, MARK, name)
        return endpoint

    return mark


def direct_handler(route: APIRoute, handler: Handler) -> Handler:
    """`handler` (FastAPI's for `route`), or in front of it the direct call of a marked
    endpoint."""
    name: str | None = getattr(route.endpoint, MARK, None)
    if name is None:
        return handler
    dependant = route.dependant
    parameters = [parameter.name for parameter in dependant.path_params]
    others = (dependant.query_params, dependant.header_params, dependant.cookie_params,
              dependant.body_params, dependant.dependencies)  # fmt: skip
    if parameters != [name] or any(others):
        raise TypeError(f"{route.path}: @uuid_path({name!r}) needs {name!r} as its only parameter")
    endpoint = route.endpoint

    async def direct(request: Request) -> Response:
        value = request.path_params[name]
        if CANONICAL_UUID.fullmatch(value) is None:
            return await handler(request)
        response: Response = await endpoint(uuid.UUID(value))
        return response

    return direct
