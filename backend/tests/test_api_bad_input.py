"""Input the database cannot hold is refused with a 4xx naming the field, before anything is
written: NUL characters, lone UTF-16 surrogates, JSON nested too deep, fields and bodies too
large, pages beyond what PostgreSQL can count. A database `DataError` that still slips through
is a 422, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import URL

from chat_backend.api import create_app
from chat_backend.api.chats import MAX_CONTENT_CHARS
from chat_backend.api.json_values import MAX_DEPTH
from chat_backend.config import DEFAULT_MAX_BODY_BYTES
from tests.api_support import CODE, app_client, error_of, settings_for

pytestmark = pytest.mark.anyio

BIGINT_MAX = 2**63 - 1


@pytest.fixture
async def chat_id(client: httpx.AsyncClient) -> str:
    user = (await client.post("/users", json={"username": "ada"})).json()
    chat = (await client.post(f"/users/{user['id']}/chats", json={})).json()
    return str(chat["id"])


def raw_json(body: str) -> dict[str, Any]:
    """Request arguments for a JSON body written by hand (httpx would escape a surrogate)."""
    return {"content": body.encode(), "headers": {"content-type": "application/json"}}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


async def assert_no_users_written(client: httpx.AsyncClient) -> None:
    assert (await client.get("/users")).json()["items"] == []


def fields(error: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in error["details"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"username": "a\\u0000b"}', "body.username"),
        ('{"username": "ada", "display_name": "\\u0000"}', "body.display_name"),
        ('{"username": "ada", "preferences": {"k": "v\\u0000"}}', "body.preferences"),
        ('{"username": "ada", "preferences": {"k\\u0000": 1}}', "body.preferences"),
        ('{"username": "ada", "preferences": {"k": ["\\u0000"]}}', "body.preferences"),
        ('{"username": "a\\ud800"}', "body.username"),
        ('{"username": "ada", "preferences": {"k": "\\udc00"}}', "body.preferences"),
    ],
    ids=["nul-text", "nul-nullable", "nul-json-value", "nul-json-key", "nul-json-list",
         "surrogate-text", "surrogate-json"],
)  # fmt: skip
async def test_unstorable_characters_in_a_new_user_are_422(
    client: httpx.AsyncClient, body: str, field: str
) -> None:
    error = error_of(await client.post("/users", **raw_json(body)), 422)
    assert fields(error) == [field]
    await assert_no_users_written(client)


@pytest.mark.parametrize(
    "content", ["a\\u0000b", "\\ud83d", "x\\udfff"], ids=["nul", "high-surrogate", "low-surrogate"]
)
async def test_unstorable_characters_in_a_message_are_422(
    client: httpx.AsyncClient, chat_id: str, content: str
) -> None:
    body = '{"messages": [{"role": "user", "content": "%s"}]}' % content  # noqa: UP031
    error = error_of(await client.post(f"/chats/{chat_id}/messages", **raw_json(body)), 422)
    assert fields(error) == ["body.messages.0.content"]
    assert (await client.get(f"/chats/{chat_id}")).json()["messages"] == []


async def test_a_paired_surrogate_is_a_character_like_any_other(
    client: httpx.AsyncClient, chat_id: str
) -> None:
    body = '{"messages": [{"role": "user", "content": "\\ud83d\\ude00"}]}'
    response = await client.post(f"/chats/{chat_id}/messages", **raw_json(body))
    assert response.status_code == 200, response.text
    assert (await client.get(f"/chats/{chat_id}")).json()["messages"][0]["content"] == "😀"


async def test_nul_in_a_chat_title_is_422(client: httpx.AsyncClient, chat_id: str) -> None:
    body = '{"title": "a\\u0000"}'
    error = error_of(await client.patch(f"/chats/{chat_id}", **raw_json(body)), 422)
    assert fields(error) == ["body.title"]


async def test_json_nested_too_deep_is_422_and_nothing_is_written(
    client: httpx.AsyncClient,
) -> None:
    body = {"username": "ada", "preferences": nested(MAX_DEPTH + 1)}
    error = error_of(await client.post("/users", json=body), 422)
    assert fields(error) == ["body.preferences"]
    assert str(MAX_DEPTH) in error["details"][0]["message"]
    await assert_no_users_written(client)


async def test_json_at_the_depth_limit_is_stored_and_read_back(client: httpx.AsyncClient) -> None:
    body = {"username": "ada", "preferences": nested(MAX_DEPTH)}
    created = await client.post("/users", json=body)
    assert created.status_code == 201, created.text
    assert (await client.get("/users")).status_code == 200


async def test_a_body_nested_too_deep_for_the_parser_is_a_4xx(client: httpx.AsyncClient) -> None:
    body = '{"username": "ada", "preferences": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = await client.post("/users", **raw_json(body))
    assert 400 <= response.status_code < 500, response.text
    await assert_no_users_written(client)


async def test_a_body_over_the_limit_is_413_and_nothing_is_written(
    client: httpx.AsyncClient, chat_id: str
) -> None:
    content = "x" * DEFAULT_MAX_BODY_BYTES
    body = {"messages": [{"role": "user", "content": content}]}
    error = error_of(await client.post(f"/chats/{chat_id}/messages", json=body), 413)
    assert error["code"] == "payload_too_large"
    assert "API_MAX_BODY_BYTES" in error["message"]
    assert (await client.get(f"/chats/{chat_id}")).json()["messages"] == []


async def test_a_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "ada", "display_name": "'
        for _ in range(DEFAULT_MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = await client.post(
        "/users", content=chunks(), headers={"content-type": "application/json"}
    )
    assert error_of(response, 413)["code"] == "payload_too_large"
    await assert_no_users_written(client)


async def test_the_body_limit_is_a_setting(database_url: URL) -> None:
    settings = settings_for(database_url).model_copy(update={"api_max_body_bytes": 100})
    async with app_client(create_app(settings, CODE)) as client:
        body = {"username": "ada", "display_name": "d" * 100}
        assert error_of(await client.post("/users", json=body), 413)
        assert (await client.post("/users", json={"username": "ada"})).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"messages": [{"role": "user", "content": "x" * (MAX_CONTENT_CHARS + 1)}]},
            "body.messages.0.content",
        ),
    ],
)
async def test_a_field_over_its_size_is_422(
    client: httpx.AsyncClient, chat_id: str, body: dict[str, Any], field: str
) -> None:
    error = error_of(await client.post(f"/chats/{chat_id}/messages", json=body), 422)
    assert fields(error) == [field]


async def test_preferences_over_their_size_are_422(client: httpx.AsyncClient) -> None:
    body = {"username": "ada", "preferences": {"notes": "n" * 20_000}}
    error = error_of(await client.post("/users", json=body), 422)
    assert fields(error) == ["body.preferences"]
    await assert_no_users_written(client)


@pytest.mark.parametrize("offset", [2**31, BIGINT_MAX, BIGINT_MAX + 1, 2**64, 10**30])
@pytest.mark.parametrize("path", ["/users", "/users/1/chats"])
async def test_offset_beyond_the_bound_is_422(
    client: httpx.AsyncClient, path: str, offset: int
) -> None:
    error = error_of(await client.get(path, params={"offset": offset}), 422)
    assert fields(error) == ["query.offset"]


async def test_a_data_error_that_slips_through_is_422(database_url: URL) -> None:
    app = create_app(settings_for(database_url), CODE)

    async def divide_by_zero() -> None:
        async with app.state.database.pool.acquire() as db:
            await db.execute("SELECT 1 / 0")

    app.add_api_route("/divide", divide_by_zero)
    async with app_client(app) as client:
        error = error_of(await client.get("/divide"), 422)
    assert error["code"] == "invalid_value"
    assert "division by zero" in error["message"]


async def test_preferences_are_stored_as_sent(client: httpx.AsyncClient) -> None:
    preferences = {"theme": "dark", "langs": ["zh", "en"], "n": 1.5, "deep": nested(5)}
    created = await client.post("/users", json={"username": "ada", "preferences": preferences})
    assert created.status_code == 201, created.text
    assert json.loads(created.text)["preferences"] == preferences
