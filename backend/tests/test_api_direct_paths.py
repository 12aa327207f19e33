"""Routes called straight with the UUID in their path: only a route whose one parameter is
that UUID may be marked (anything else would skip FastAPI's validation of the others)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from chat_backend.api.direct_paths import direct_handler, uuid_path


async def fastapi_handler(_: Request) -> Response:
    return Response()


def test_a_marked_route_with_another_parameter_is_refused_when_built() -> None:
    @uuid_path("chat_id")
    async def endpoint(chat_id: uuid.UUID, limit: int = 5) -> Response:
        return Response(f"{chat_id} {limit}")

    route = APIRoute("/chats/{chat_id}", endpoint)
    with pytest.raises(TypeError, match="'chat_id' as its only parameter"):
        direct_handler(route, fastapi_handler)


def test_an_unmarked_route_keeps_fastapis_handler() -> None:
    async def endpoint(chat_id: uuid.UUID) -> Response:
        return Response(str(chat_id))

    route = APIRoute("/chats/{chat_id}", endpoint)
    assert direct_handler(route, fastapi_handler) is fastapi_handler
