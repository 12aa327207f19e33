"""The pool does not reset a connection when a request returns it (db/api_pool.py): safe only
while no route leaves session state behind. Every route, on its success and error paths, runs
on a real PostgreSQL; then every connection of the pool is as it was when it connected."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import asyncpg
import httpx
import pytest
from sqlalchemy import URL, Engine, text

from chat_backend.api import create_app
from chat_backend.db.api_pool import POOL_SIZE
from tests.api_support import CODE, app_client, settings_for

pytestmark = pytest.mark.anyio

# What a session may have changed, each as rows that must be empty. Prepared statements are
# the driver's own statement cache and meant to stay.
LEFTOVERS = {
    "settings set in the session": "SELECT name FROM pg_settings WHERE source = 'session'",
    "advisory locks": "SELECT objid FROM pg_locks "
    "WHERE pid = pg_backend_pid() AND locktype = 'advisory'",
    # (The unnamed portal is this query's own.)
    "open cursors": "SELECT name FROM pg_cursors WHERE name <> ''",
    "LISTEN channels": "SELECT pg_listening_channels()",
    "temporary tables": "SELECT relname FROM pg_class WHERE relpersistence = 't'",
}
HELLO = {"messages": [{"role": "user", "content": "hi"}]}


async def exercise_every_route(client: httpx.AsyncClient) -> None:
    """Each route once or more, answering 2xx, 404, 409 and a lock timeout's 503."""
    user = (await client.post("/users", json={"username": "ada", "email": "a@b.co"})).json()
    assert (await client.post("/users", json={"username": "ada"})).status_code == 409
    chat = (await client.post(f"/users/{user['id']}/chats", json={"title": "t"})).json()
    missing_chat, missing_user = f"/chats/{uuid.uuid4()}", "/users/2147483647"
    calls = [
        ("GET", "/users", None, 200),
        ("GET", f"/users/{user['id']}", None, 200),
        ("PATCH", f"/users/{user['id']}", {"display_name": "Ada"}, 200),
        ("PATCH", missing_user, {"display_name": "Ada"}, 404),
        ("GET", f"/users/{user['id']}/chats", None, 200),
        ("GET", f"{missing_user}/chats", None, 404),
        ("POST", f"{missing_user}/chats", {}, 404),
        ("GET", f"/chats/{chat['id']}", None, 200),
        ("GET", missing_chat, None, 404),
        ("PATCH", f"/chats/{chat['id']}", {"title": "u"}, 200),
        ("POST", f"/chats/{chat['id']}/messages", HELLO, 200),
        ("POST", f"{missing_chat}/messages", HELLO, 404),
        ("DELETE", f"/chats/{chat['id']}", None, 204),
        ("DELETE", missing_chat, None, 404),
        ("DELETE", f"/users/{user['id']}", None, 204),
        ("DELETE", missing_user, None, 404),
        ("GET", "/health", None, 200),
    ]
    for method, path, body, status in calls:
        response = await client.request(method, path, json=body)
        assert response.status_code == status, (method, path, response.text)


async def leftovers(connection: Any) -> dict[str, list[object]]:
    """What `connection` (a pool's proxy of one) holds that a new session would not."""
    found: dict[str, list[object]] = {
        what: [tuple(row) for row in await connection.fetch(query)]
        for what, query in LEFTOVERS.items()
    }
    found["an open transaction"] = [True] if connection.is_in_transaction() else []
    return {what: rows for what, rows in found.items() if rows}


async def test_no_route_leaves_session_state_on_a_pooled_connection(
    database_url: URL, engine: Engine
) -> None:
    settings = settings_for(database_url).model_copy(update={"api_lock_timeout_ms": 100})
    app = create_app(settings, CODE)
    async with app_client(app) as client:
        await exercise_every_route(client)
        # A statement cancelled by the lock timeout, as well.
        user = (await client.post("/users", json={"username": "bo"})).json()
        with engine.connect() as holder:
            holder.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
            assert (await client.get(f"/users/{user['id']}")).status_code == 503
        pool: asyncpg.Pool = app.state.database.pool
        assert pool.get_size() >= 1
        # All of them at once: the used ones among them, whichever the pool hands out.
        connections = [await pool.acquire() for _ in range(POOL_SIZE)]
        try:
            found = {id(c): await leftovers(c) for c in connections}
        finally:
            with anyio.CancelScope(shield=True):
                for connection in connections:
                    await pool.release(connection)
    assert all(not state for state in found.values()), found
