"""Requests that wait for one of the pool's connections get one in the order they asked
(api/database.py). asyncpg's pool alone lets a request that arrives just as a connection is
handed back take it ahead of the request it was handed to, which then queues again at the
back; under load those overtaken requests were the API's slowest percent.

On a real PostgreSQL, with a pool of one connection: PostgreSQL then runs the statements one
at a time, in the order the requests got the connection, and a sequence numbers that order."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import URL, Engine, text

from chat_backend.api.database import Database, NoConnectionError
from chat_backend.db.api_pool import open_api_pool
from chat_backend.db.driver_statements import Statement
from tests.api_support import settings_for

pytestmark = pytest.mark.anyio

REQUESTS = 32
STATEMENTS_EACH = 12
NEXT_TURN = Statement(text("SELECT nextval('turns')"))
HOLD = Statement(text("SELECT pg_sleep(1)"))


@pytest.fixture
async def one_connection(database_url: URL, engine: Engine) -> AsyncIterator[Database]:
    with engine.begin() as db:
        db.execute(text("CREATE SEQUENCE turns"))
    database = Database()
    database.open(await open_api_pool(settings_for(database_url), size=1))
    yield database
    await database.close()


async def test_waiting_requests_get_the_connection_in_the_order_they_asked(
    one_connection: Database,
) -> None:
    asked = itertools.count()
    turns: list[tuple[int, int]] = []  # (when a statement asked, when PostgreSQL ran it)

    async def client(number: int) -> None:
        for statement in range(STATEMENTS_EACH):
            # Clients ask at staggered moments, as requests arrive: some of them while a
            # connection is on its way back to the pool.
            await asyncio.sleep(0.001 * ((number + statement) % 3))
            ticket = next(asked)
            row = await one_connection.row(NEXT_TURN)
            assert row is not None
            turns.append((ticket, row[0]))

    async with asyncio.TaskGroup() as clients:
        for number in range(REQUESTS):
            clients.create_task(client(number))

    run_in_order_asked = [ran for _, ran in sorted(turns)]
    overtaken = sum(a > b for a, b in itertools.pairwise(run_in_order_asked))
    assert overtaken == 0, f"{overtaken} of {len(turns)} statements were overtaken"


@pytest.mark.parametrize("leaves", ["gives up", "is cancelled"])
async def test_a_request_that_stops_waiting_gives_its_turn_back(
    one_connection: Database, monkeypatch: pytest.MonkeyPatch, leaves: str
) -> None:
    """A request that stops waiting for the busy connection (its ACQUIRE_TIMEOUT_S over, or
    cancelled) leaves the turn it waited for to the next request: a lost turn would shrink
    the pool for good, and with one connection the next request would wait in vain."""
    monkeypatch.setattr("chat_backend.api.database.ACQUIRE_TIMEOUT_S", 0.2)
    holder = asyncio.create_task(one_connection.row(HOLD))
    await asyncio.sleep(0.3)  # the holder has the turn (taken in its first step)
    if leaves == "gives up":
        with pytest.raises(NoConnectionError):
            await one_connection.row(NEXT_TURN)
    else:
        waiter = asyncio.create_task(one_connection.row(NEXT_TURN))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    await holder
    assert await one_connection.row(NEXT_TURN) is not None


async def test_a_connection_that_cannot_be_made_gives_its_turn_back(
    database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request to a database that refuses connections fails on its own connect, more of
    them than the pool has connections: none waits for a turn a failed one kept (and so gets
    NoConnectionError instead)."""
    monkeypatch.setattr("chat_backend.api.database.ACQUIRE_TIMEOUT_S", 0.5)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = int(probe.getsockname()[1])
    database = Database()
    unreachable = database_url.set(host="127.0.0.1", port=closed_port)
    database.open(await open_api_pool(settings_for(unreachable), size=1))
    try:
        for _ in range(3):
            with pytest.raises(ConnectionRefusedError):
                await database.row(NEXT_TURN)
    finally:
        await database.close()
