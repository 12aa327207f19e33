"""The app as a whole: exactly the documented routes, and one error shape for everything the
framework itself refuses (unknown route, wrong method) or did not expect."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import URL

from chat_backend.api import create_app
from tests.api_support import CODE, error_of, settings_for

pytestmark = pytest.mark.anyio

ROUTES = {
    ("GET", "/health"),
    ("GET", "/livez"),
    ("POST", "/users"),
    ("GET", "/users"),
    ("GET", "/users/{user_id}"),
    ("PATCH", "/users/{user_id}"),
    ("DELETE", "/users/{user_id}"),
    ("POST", "/users/{user_id}/chats"),
    ("GET", "/users/{user_id}/chats"),
    ("GET", "/chats/{chat_id}"),
    ("PATCH", "/chats/{chat_id}"),
    ("DELETE", "/chats/{chat_id}"),
    ("POST", "/chats/{chat_id}/messages"),
}


async def test_openapi_lists_exactly_the_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    listed = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert listed == ROUTES


async def test_openapi_documents_the_error_shape(client: httpx.AsyncClient) -> None:
    get_user = (await client.get("/openapi.json")).json()["paths"]["/users/{user_id}"]["get"]
    for status in ("404", "422", "503"):
        schema = get_user["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}


async def test_unknown_route_is_404_json(client: httpx.AsyncClient) -> None:
    error = error_of(await client.get("/nowhere"), 404)
    assert error == {"code": "not_found", "message": "GET /nowhere: Not Found.", "details": []}


async def test_wrong_method_is_405_json(client: httpx.AsyncClient) -> None:
    error = error_of(await client.put("/users"), 405)
    assert error["code"] == "method_not_allowed"


async def test_an_unexpected_error_is_500_json_without_a_trace(database_url: URL) -> None:
    app = create_app(settings_for(database_url), CODE)

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/explode", explode)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.get("/explode")
    error = error_of(response, 500)
    assert error["code"] == "internal_error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text
