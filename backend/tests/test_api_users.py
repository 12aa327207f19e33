"""/users over a real PostgreSQL: each route's success and error paths."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api_support import error_of

pytestmark = pytest.mark.anyio


async def create_user(client: httpx.AsyncClient, username: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/users", json={"username": username, **fields})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def test_create_then_get(client: httpx.AsyncClient) -> None:
    created = await create_user(
        client, "ada", display_name="Ada", email="ada@example.com", preferences={"theme": "dark"}
    )
    assert created["username"] == "ada"
    assert created["preferences"] == {"theme": "dark"}
    assert created["last_login_at"] is None
    response = await client.get(f"/users/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_create_takes_the_schema_defaults(client: httpx.AsyncClient) -> None:
    created = await create_user(client, "bob")
    assert created["display_name"] is None
    assert created["email"] is None
    assert created["preferences"] == {}


@pytest.mark.parametrize("field", ["username", "email"])
async def test_duplicate_is_a_conflict_naming_the_field(
    client: httpx.AsyncClient, field: str
) -> None:
    await create_user(client, "carol", email="carol@example.com")
    taken = {"username": "carol", "email": "carol@example.com"}[field]
    other = {"username": "carol2", "email": "carol2@example.com", field: taken}
    error = error_of(await client.post("/users", json=other), 409)
    assert error["code"] == "conflict"
    assert f"{field} {taken!r}" in error["message"]
    assert [detail["field"] for detail in error["details"]] == [f"body.{field}"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.username"),
        ({"username": ""}, "body.username"),
        ({"username": "has space"}, "body.username"),
        ({"username": "x" * 101}, "body.username"),
        ({"username": "dave", "email": "not-an-address"}, "body.email"),
        ({"username": "dave", "preferences": [1]}, "body.preferences"),
        ({"username": "dave", "is_admin": True}, "body.is_admin"),
    ],
)
async def test_bad_body_is_422_with_field_errors(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error = error_of(await client.post("/users", json=body), 422)
    assert error["code"] == "invalid_request"
    assert field in [detail["field"] for detail in error["details"]]


async def test_body_that_is_not_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert error_of(response, 422)["code"] == "invalid_request"


@pytest.mark.parametrize("user_id", ["999", str(2**31 - 1)])
async def test_unknown_user_is_404(client: httpx.AsyncClient, user_id: str) -> None:
    for response in [
        await client.get(f"/users/{user_id}"),
        await client.patch(f"/users/{user_id}", json={"display_name": "x"}),
        await client.patch(f"/users/{user_id}", json={}),
        await client.delete(f"/users/{user_id}"),
    ]:
        error = error_of(response, 404)
        assert error == {
            "code": "not_found",
            "message": f"No user has the id {user_id}.",
            "details": [],
        }


@pytest.mark.parametrize("user_id", ["0", "abc", str(2**31)])
async def test_impossible_user_id_is_422(client: httpx.AsyncClient, user_id: str) -> None:
    error = error_of(await client.get(f"/users/{user_id}"), 422)
    assert [detail["field"] for detail in error["details"]] == ["path.user_id"]


async def test_list_pages_in_id_order(client: httpx.AsyncClient) -> None:
    ids = [(await create_user(client, f"user{n}"))["id"] for n in range(5)]
    first = (await client.get("/users", params={"limit": 2})).json()
    assert [user["id"] for user in first["items"]] == ids[:2]
    assert (first["limit"], first["offset"], first["next_offset"]) == (2, 0, 2)
    last = (await client.get("/users", params={"limit": 2, "offset": 4})).json()
    assert [user["id"] for user in last["items"]] == ids[4:]
    assert last["next_offset"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
async def test_list_refuses_bad_paging(client: httpx.AsyncClient, params: dict[str, int]) -> None:
    error = error_of(await client.get("/users", params=params), 422)
    assert [detail["field"] for detail in error["details"]] == [f"query.{next(iter(params))}"]


async def test_patch_changes_only_the_fields_given(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "erin", display_name="Erin", email="erin@example.com")
    response = await client.patch(
        f"/users/{user['id']}", json={"email": None, "preferences": {"lang": "zh-TW"}}
    )
    assert response.status_code == 200
    assert response.json() == {**user, "email": None, "preferences": {"lang": "zh-TW"}}
    unchanged = await client.patch(f"/users/{user['id']}", json={})
    assert unchanged.json() == response.json()


async def test_patch_refuses_username_and_null_preferences(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "frank")
    for body, field in [
        ({"username": "x"}, "body.username"),
        ({"preferences": None}, "body.preferences"),
    ]:
        error = error_of(await client.patch(f"/users/{user['id']}", json=body), 422)
        assert [detail["field"] for detail in error["details"]] == [field]


async def test_an_email_differing_only_in_case_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create_user(client, "ann", email="ann@example.com")
    error = error_of(
        await client.post("/users", json={"username": "ann2", "email": "Ann@Example.com"}), 409
    )
    assert error["code"] == "conflict"
    assert "email 'Ann@Example.com'" in error["message"]
    assert [detail["field"] for detail in error["details"]] == ["body.email"]


async def test_patch_to_a_taken_email_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create_user(client, "gina", email="gina@example.com")
    hank = await create_user(client, "hank")
    response = await client.patch(f"/users/{hank['id']}", json={"email": "gina@example.com"})
    assert "email 'gina@example.com'" in error_of(response, 409)["message"]


async def test_delete_removes_the_user(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "ivy")
    response = await client.delete(f"/users/{user['id']}")
    assert response.status_code == 204
    assert response.content == b""
    error_of(await client.get(f"/users/{user['id']}"), 404)
