"""Chats over a real PostgreSQL: each route's success and error paths, the concurrent
appends, and the index behind a user's chat list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import Engine, text

from chat_backend.api.chats import chats_of_user
from tests.api_support import error_of

pytestmark = pytest.mark.anyio

UNKNOWN_CHAT = uuid.UUID(int=1)


@pytest.fixture
async def user_id(client: httpx.AsyncClient) -> int:
    response = await client.post("/users", json={"username": "owner"})
    assert response.status_code == 201
    return int(response.json()["id"])


async def create_chat(client: httpx.AsyncClient, user_id: int, **fields: str) -> dict[str, Any]:
    response = await client.post(f"/users/{user_id}/chats", json=fields)
    assert response.status_code == 201, response.text
    chat: dict[str, Any] = response.json()
    return chat


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


async def test_create_takes_the_schema_defaults(client: httpx.AsyncClient, user_id: int) -> None:
    chat = await create_chat(client, user_id)
    assert (chat["user_id"], chat["title"], chat["model"]) == (user_id, "新對話", "claude-sonnet")
    assert (chat["messages"], chat["message_count"]) == ([], 0)
    assert (await client.get(f"/chats/{chat['id']}")).json() == chat


async def test_create_with_title_and_model(client: httpx.AsyncClient, user_id: int) -> None:
    chat = await create_chat(client, user_id, title="Trip", model="claude-opus")
    assert (chat["title"], chat["model"]) == ("Trip", "claude-opus")


async def test_create_for_an_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    error = error_of(await client.post("/users/999/chats", json={}), 404)
    assert error["message"] == "No user has the id 999."


@pytest.mark.parametrize(
    ("body", "field"),
    [({"title": ""}, "body.title"), ({"model": "m" * 101}, "body.model"), ({"x": 1}, "body.x")],
)
async def test_create_refuses_a_bad_body(
    client: httpx.AsyncClient, user_id: int, body: dict[str, Any], field: str
) -> None:
    error = error_of(await client.post(f"/users/{user_id}/chats", json=body), 422)
    assert [detail["field"] for detail in error["details"]] == [field]


async def test_list_is_newest_first_and_paged(client: httpx.AsyncClient, user_id: int) -> None:
    ids = [(await create_chat(client, user_id, title=f"chat {n}"))["id"] for n in range(3)]
    await client.post(f"/chats/{ids[0]}/messages", json={"messages": [hello()]})
    first = (await client.get(f"/users/{user_id}/chats", params={"limit": 2})).json()
    assert [chat["id"] for chat in first["items"]] == [ids[0], ids[2]]
    assert first["items"][0]["message_count"] == 1
    assert "messages" not in first["items"][0]
    assert first["next_offset"] == 2
    rest = (await client.get(f"/users/{user_id}/chats", params={"offset": 2})).json()
    assert [chat["id"] for chat in rest["items"]] == [ids[1]]
    assert rest["next_offset"] is None


async def test_list_of_a_user_without_chats_is_empty(
    client: httpx.AsyncClient, user_id: int
) -> None:
    response = await client.get(f"/users/{user_id}/chats")
    assert response.json() == {"items": [], "limit": 50, "offset": 0, "next_offset": None}


async def test_list_of_an_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    error_of(await client.get("/users/999/chats"), 404)


async def test_rename_changes_the_title_and_moves_updated_at(
    client: httpx.AsyncClient, user_id: int
) -> None:
    chat = await create_chat(client, user_id)
    response = await client.patch(f"/chats/{chat['id']}", json={"title": "Renamed"})
    assert response.status_code == 200
    renamed = response.json()
    assert renamed["title"] == "Renamed"
    assert at(renamed["updated_at"]) > at(chat["updated_at"])


@pytest.mark.parametrize("body", [{}, {"title": ""}, {"title": "t" * 201}, {"model": "x"}])
async def test_rename_refuses_a_bad_body(
    client: httpx.AsyncClient, user_id: int, body: dict[str, Any]
) -> None:
    chat = await create_chat(client, user_id)
    assert error_of(await client.patch(f"/chats/{chat['id']}", json=body), 422)["details"]


async def test_delete_removes_the_chat(client: httpx.AsyncClient, user_id: int) -> None:
    chat = await create_chat(client, user_id)
    response = await client.delete(f"/chats/{chat['id']}")
    assert (response.status_code, response.content) == (204, b"")
    error_of(await client.get(f"/chats/{chat['id']}"), 404)


async def test_deleting_the_user_deletes_the_chats(client: httpx.AsyncClient, user_id: int) -> None:
    chat = await create_chat(client, user_id)
    await client.delete(f"/users/{user_id}")
    error_of(await client.get(f"/chats/{chat['id']}"), 404)


async def test_unknown_chat_is_404(client: httpx.AsyncClient) -> None:
    for response in [
        await client.get(f"/chats/{UNKNOWN_CHAT}"),
        await client.patch(f"/chats/{UNKNOWN_CHAT}", json={"title": "x"}),
        await client.delete(f"/chats/{UNKNOWN_CHAT}"),
        await client.post(f"/chats/{UNKNOWN_CHAT}/messages", json={"messages": [hello()]}),
    ]:
        assert error_of(response, 404)["message"] == f"No chat has the id {UNKNOWN_CHAT}."


async def test_chat_id_that_is_not_a_uuid_is_422(client: httpx.AsyncClient) -> None:
    error = error_of(await client.get("/chats/42"), 422)
    assert [detail["field"] for detail in error["details"]] == ["path.chat_id"]


def hello(n: int = 0) -> dict[str, str]:
    return {"role": "user", "content": f"hello {n}"}


async def test_append_adds_messages_in_order(client: httpx.AsyncClient, user_id: int) -> None:
    chat = await create_chat(client, user_id)
    answer = {"role": "assistant", "content": "你好"}
    response = await client.post(
        f"/chats/{chat['id']}/messages", json={"messages": [hello(), answer]}
    )
    assert response.status_code == 200
    assert response.json()["message_count"] == 2
    assert at(response.json()["updated_at"]) > at(chat["updated_at"])
    assert (await client.get(f"/chats/{chat['id']}")).json()["messages"] == [hello(), answer]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": []}, "body.messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "body.messages.0.role"),
        ({"messages": [{"role": "user"}]}, "body.messages.0.content"),
        ({"messages": [hello()] * 101}, "body.messages"),
    ],
)
async def test_append_refuses_a_bad_body(
    client: httpx.AsyncClient, user_id: int, body: dict[str, Any], field: str
) -> None:
    chat = await create_chat(client, user_id)
    error = error_of(await client.post(f"/chats/{chat['id']}/messages", json=body), 422)
    assert [detail["field"] for detail in error["details"]] == [field]


async def test_concurrent_appends_lose_nothing(client: httpx.AsyncClient, user_id: int) -> None:
    chat = await create_chat(client, user_id)
    results: list[dict[str, Any]] = []

    async def append(n: int) -> None:
        response = await client.post(f"/chats/{chat['id']}/messages", json={"messages": [hello(n)]})
        assert response.status_code == 200, response.text
        results.append(response.json())

    async with anyio.create_task_group() as appends:
        for n in range(50):
            appends.start_soon(append, n)

    final = (await client.get(f"/chats/{chat['id']}")).json()
    assert sorted(message["content"] for message in final["messages"]) == sorted(
        hello(n)["content"] for n in range(50)
    )
    # Each append saw the one before it: counts 1..50, with updated_at rising in that order.
    results.sort(key=lambda result: int(result["message_count"]))
    assert [result["message_count"] for result in results] == list(range(1, 51))
    stamps = [at(chat["updated_at"])] + [at(result["updated_at"]) for result in results]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_a_users_chat_list_reads_an_index(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (username) SELECT 'user' || n FROM generate_series(1, 200) n")
        )
        connection.execute(
            text(
                "INSERT INTO ai_chats (user_id, updated_at) "
                "SELECT 1 + n % 200, now() - n * interval '1 minute' "
                "FROM generate_series(1, 20000) n"
            )
        )
        connection.execute(text("ANALYZE ai_chats"))
        # Forbidding sequential scans makes the planner show the index it would choose.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        query = chats_of_user(7, 51, 0).compile(connection, compile_kwargs={"literal_binds": True})
        plan = connection.scalar(text(f"EXPLAIN (FORMAT JSON) {query}"))
    used = index_names(plan)
    assert used & {"ix_ai_chats_user_id", "ix_ai_chats_updated_at"}, plan


def index_names(node: object) -> set[str]:
    """Every "Index Name" anywhere in an EXPLAIN (FORMAT JSON) plan."""
    names: set[str] = set()
    if isinstance(node, dict):
        names.update([node["Index Name"]] if "Index Name" in node else [])
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            names |= index_names(child)
    return names
