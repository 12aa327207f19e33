"""HTTP as a client and the OpenAPI schema expect it: 405 names the allowed methods, a 422
stays small whatever the body, a body that arrives too slowly is answered 408 and its
connection closed (over a real socket, uvicorn serving), and the schema refuses what
validation refuses."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import URL

from chat_backend.api import create_app
from chat_backend.api.errors import MAX_DETAILS
from chat_backend.api.json_values import NO_NUL
from tests.api_support import CODE, error_of, served, settings_for

pytestmark = pytest.mark.anyio

BODY_TIMEOUT_MS = 300
# Ample for a loopback answer; the test waits on the answer, not for this long.
ANSWER_WAIT_S = 15.0


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/users", "GET, POST"),
        ("POST", "/users/1", "DELETE, GET, PATCH"),
        ("PUT", "/chats/00000000-0000-0000-0000-000000000000/messages", "POST"),
        ("DELETE", "/health", "GET"),
    ],
)
async def test_405_names_every_allowed_method(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response.headers["allow"] == allowed


async def test_a_422_lists_a_bounded_number_of_problems(client: httpx.AsyncClient) -> None:
    """87,000 unknown keys in 1 MB made a 5.6 MB answer."""
    body = json.dumps({"username": "ada", **{str(n): 0 for n in range(87_000)}})
    assert len(body) < 1024 * 1024
    response = await client.post(
        "/users", content=body, headers={"content-type": "application/json"}
    )
    error = error_of(response, 422)
    assert len(error["details"]) == MAX_DETAILS
    assert "87000 problems" in error["message"]
    assert len(response.content) < 10_000


@pytest.fixture
def slow_body_server(database_url: URL) -> Iterator[tuple[str, int]]:
    settings = settings_for(database_url).model_copy(
        update={"api_body_timeout_ms": BODY_TIMEOUT_MS}
    )
    with served(create_app(settings, CODE)) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        yield host, int(port)


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    connection.settimeout(ANSWER_WAIT_S)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_a_body_slower_than_the_timeout_is_408_and_the_connection_closes(
    slow_body_server: tuple[str, int],
) -> None:
    head = (
        "POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )
    with socket.create_connection(slow_body_server) as connection:
        connection.sendall(head.encode() + b'{"username": ')
        answer = read_until_closed(connection)  # the rest of the body never comes
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout", answer
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "request_timeout"
    assert "API_BODY_TIMEOUT_MS" in body["error"]["message"]


def test_a_body_sent_in_time_in_pieces_is_served(slow_body_server: tuple[str, int]) -> None:
    body = b'{"username": "ada"}'
    head = (
        "POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(slow_body_server) as connection:
        connection.sendall(head.encode() + body[:5])
        connection.sendall(body[5:])
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 201 "), answer


def string_schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "string" and "format" not in node and "enum" not in node:
            yield node
        for child in node.values():
            yield from string_schemas(child)
    elif isinstance(node, list):
        for child in node:
            yield from string_schemas(child)


async def test_the_schema_refuses_nul_where_validation_does(client: httpx.AsyncClient) -> None:
    """Every string the API stores is refused with a NUL by validation (PostgreSQL cannot hold
    one), so the schema must say so too: a client generating from it would send one."""
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    inputs = {name: schemas[name] for name in ("NewUser", "UserChanges", "NewChat",
                                               "ChatRename", "Message")}  # fmt: skip
    strings = list(string_schemas(inputs))
    assert strings
    for string in strings:
        assert "\\x00" in string.get("pattern", ""), string
    preferences = inputs["NewUser"]["properties"]["preferences"]
    assert preferences["propertyNames"] == {"pattern": NO_NUL}
    value = schemas[preferences["additionalProperties"]["$ref"].rpartition("/")[2]]
    assert {"type": "string", "pattern": NO_NUL} in value["anyOf"]
