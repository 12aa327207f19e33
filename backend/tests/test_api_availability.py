"""Availability under locks and lost connections, on a real PostgreSQL: a data request waits a
bounded time (API_LOCK_TIMEOUT_MS, API_STATEMENT_TIMEOUT_MS) and then answers 503 with
Retry-After; /health answers while every data worker is blocked; a database at two heads and a
connection the server dropped are clean 503s, and the API recovers by itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import URL, Connection, Engine, text

from chat_backend.api import create_app
from chat_backend.config import Settings
from chat_backend.db.api_pool import POOL_SIZE, open_api_pool
from tests.api_support import CODE, app_client, error_of, settings_for

pytestmark = pytest.mark.anyio

WAIT_S = 15.0
HELLO = {"messages": [{"role": "user", "content": "hi"}]}


async def new_chat(client: httpx.AsyncClient) -> str:
    user = (await client.post("/users", json={"username": "ada"})).json()
    return str((await client.post(f"/users/{user['id']}/chats", json={})).json()["id"])


@pytest.fixture
def row_lock(engine: Engine) -> Iterator[Any]:
    """Locks a chat's row in a session of its own, as `SELECT ... FOR UPDATE` in psql would,
    until the test ends or calls the release function it gets back."""
    holder: list[Connection] = []

    def lock(chat_id: str) -> None:
        holder.append(engine.connect())
        # The server ends this session after WAIT_S, so a request that would wait for the lock
        # forever (no lock timeout) still ends, and the test with it.
        holder[0].execute(text(f"SET idle_in_transaction_session_timeout = '{WAIT_S}s'"))
        holder[0].execute(text("SELECT 1 FROM ai_chats WHERE id = :id FOR UPDATE"), {"id": chat_id})

    def release() -> None:
        while holder:
            holder.pop().close()  # rolls back, which releases the lock

    lock.release = release  # type: ignore[attr-defined]
    yield lock
    release()


async def sessions_waiting_on_a_lock(engine: Engine, count: int) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with anyio.fail_after(WAIT_S):
        while True:
            with engine.connect() as db:
                if db.scalar(query) >= count:
                    return
            await anyio.sleep(0.02)  # between looks at pg_stat_activity


def with_settings(database_url: URL, **changes: Any) -> Settings:
    return settings_for(database_url).model_copy(update=changes)


def assert_retry_later(response: httpx.Response, code: str) -> dict[str, Any]:
    error = error_of(response, 503)
    assert error["code"] == code
    assert int(response.headers["retry-after"]) >= 1
    return error


async def test_a_locked_row_is_503_with_retry_after_then_served(
    database_url: URL, row_lock: Any
) -> None:
    settings = with_settings(database_url, api_lock_timeout_ms=200)
    async with app_client(create_app(settings, CODE)) as client:
        chat_id = await new_chat(client)
        row_lock(chat_id)
        response = await client.post(f"/chats/{chat_id}/messages", json=HELLO)
        error = assert_retry_later(response, "database_busy")
        assert "API_LOCK_TIMEOUT_MS" in error["message"]
        row_lock.release()
        assert (await client.post(f"/chats/{chat_id}/messages", json=HELLO)).status_code == 200


async def test_health_answers_while_every_data_worker_waits_on_a_lock(
    database_url: URL, engine: Engine, row_lock: Any
) -> None:
    settings = with_settings(database_url, api_lock_timeout_ms=60_000)
    async with app_client(create_app(settings, CODE)) as client:
        chat_id = await new_chat(client)
        row_lock(chat_id)
        statuses: list[int] = []

        async def append() -> None:
            response = await client.post(f"/chats/{chat_id}/messages", json=HELLO)
            statuses.append(response.status_code)

        answers: list[httpx.Response] = []
        async with anyio.create_task_group() as appends:
            for _ in range(POOL_SIZE + 5):
                appends.start_soon(append)
            try:
                await sessions_waiting_on_a_lock(engine, POOL_SIZE)
                with anyio.move_on_after(WAIT_S):
                    answers += [await client.get("/health"), await client.get("/livez")]
                blocked = statuses == []
            finally:
                row_lock.release()
        assert [answer.status_code for answer in answers] == [200, 200], "no answer in time"
        assert blocked, "the appends were not blocked while /health answered"
        assert statuses == [200] * (POOL_SIZE + 5)


async def test_a_statement_over_the_timeout_is_503(database_url: URL) -> None:
    settings = with_settings(database_url, api_statement_timeout_ms=100)
    app = create_app(settings, CODE)

    async def slow() -> None:
        async with app.state.database.pool.acquire() as db:
            await db.execute("SELECT pg_sleep(10)")

    app.add_api_route("/slow", slow)
    async with app_client(app) as client:
        error = assert_retry_later(await client.get("/slow"), "database_busy")
    assert "API_STATEMENT_TIMEOUT_MS" in error["message"]


async def test_a_database_at_two_heads_is_503_naming_both(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    with engine.begin() as db:
        db.execute(text("INSERT INTO alembic_version (version_num) VALUES ('002')"))
    health = await client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    for response in (health, await client.get("/users")):
        assert f"'{CODE.head}'" in response.text
        assert "'002'" in response.text
    error = assert_retry_later(await client.get("/users"), "database_unavailable")
    assert "2 revisions at once" in error["message"]


@pytest.mark.parametrize("route", ["/users", "/chats/{chat_id}"], ids=["list", "get"])
async def test_a_connection_the_server_dropped_is_503_then_the_api_recovers(
    client: httpx.AsyncClient, engine: Engine, route: str
) -> None:
    """As after a database restart: every pooled connection is dead. The request that finds
    one is a clean 503; the pool then reconnects."""
    path = route.format(chat_id=await new_chat(client))
    assert (await client.get(path)).status_code == 200
    with engine.connect() as db:
        db.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    error = assert_retry_later(await client.get(path), "database_unavailable")
    assert "retry" in error["message"]
    assert (await client.get(path)).status_code == 200
    assert (await client.get("/health")).status_code == 200


async def test_livez_answers_without_a_database(server_url: URL) -> None:
    unreachable = server_url.set(port=1)
    async with app_client(create_app(settings_for(unreachable), CODE)) as client:
        assert (await client.get("/health")).status_code == 503
        response = await client.get("/livez")
    assert (response.status_code, response.json()) == (200, {"status": "alive"})


async def test_data_sessions_carry_the_timeouts(database_url: URL) -> None:
    settings = with_settings(database_url, api_statement_timeout_ms=1234, api_lock_timeout_ms=567)
    pool = await open_api_pool(settings, size=1)
    async with pool.acquire() as db:
        shown = await db.fetchrow("SELECT current_setting('statement_timeout'), "
                                  "current_setting('lock_timeout')")  # fmt: skip
    await pool.close()
    assert tuple(shown or ()) == ("1234ms", "567ms")


async def test_every_connection_busy_is_503_with_retry_after(
    database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool is full (every connection held elsewhere): a data request waits
    ACQUIRE_TIMEOUT_S for one, then answers 503 instead of queueing for ever."""
    monkeypatch.setattr("chat_backend.api.database.ACQUIRE_TIMEOUT_S", 0.2)
    app = create_app(settings_for(database_url), CODE)
    async with app_client(app) as client:
        pool = app.state.database.pool
        held = [await pool.acquire() for _ in range(POOL_SIZE)]
        try:
            error = assert_retry_later(await client.get("/users"), "database_busy")
        finally:
            for connection in held:
                await pool.release(connection)
        assert "busy" in error["message"]
        assert (await client.get("/users")).status_code == 200


async def test_a_full_pool_the_server_dropped_fails_at_most_one_request(
    database_url: URL, engine: Engine
) -> None:
    """Every one of the pool's connections open, then killed: the pool notices each closed
    socket on its own and replaces it at its next use, so not one request per dead
    connection fails (at most the one already on its way)."""
    app = create_app(settings_for(database_url), CODE)
    async with app_client(app) as client:
        path = f"/chats/{await new_chat(client)}"
        pool = app.state.database.pool
        held = [await pool.acquire() for _ in range(POOL_SIZE)]
        for connection in held:
            await pool.release(connection)
        with engine.connect() as db:
            killed = db.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND application_name = 'chat-backend'"
                )
            )
        assert killed >= POOL_SIZE
        statuses = [(await client.get(path)).status_code for _ in range(2 * POOL_SIZE)]
    assert statuses.count(503) <= 1, statuses
    assert set(statuses) <= {200, 503}
