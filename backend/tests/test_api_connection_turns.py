"""Requests that wait for one of the pool's connections get one in the order they asked
(api/database.py). asyncpg's pool alone lets a request that arrives just as a connection is
handed back take it ahead of the request it was handed to, which then queues again at the
back; under load those overtaken requests were the API's slowest percent.

On a real PostgreSQL, with a pool of one connection: PostgreSQL then runs the statements one
at a time, in the order the requests got the connection, and a sequence numbers that order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import URL, Engine, text

from chat_backend.api.database import Database
from chat_backend.db.api_pool import open_api_pool
from chat_backend.db.driver_statements import Statement
from tests.api_support import settings_for

pytestmark = pytest.mark.anyio

REQUESTS = 32
STATEMENTS_EACH = 12
NEXT_TURN = Statement(text("SELECT nextval('turns')"))


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
