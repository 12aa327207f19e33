"""The schema guard on the data routes' path: a stale answer is refreshed by one comparison
that every request arriving meanwhile awaits, not by a thread hop per request, and an answer
past half its age is refreshed in the background while requests are still served from it (on
a real PostgreSQL, through the guard's own psycopg2 engine)."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import URL

from chat_backend.api.guarded_routes import SharedCheck
from chat_backend.db.engine import api_engine
from chat_backend.db.schema_state import SchemaGuard, SchemaState
from tests.api_support import CODE, settings_for

pytestmark = pytest.mark.anyio

REQUESTS = 50


class CountingGuard(SchemaGuard):
    """The real guard, counting how often a request asks it for a comparison."""

    calls = 0

    def current(self) -> SchemaState:
        self.calls += 1
        return super().current()

    def refresh(self) -> SchemaState:
        self.calls += 1
        return super().refresh()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_requests_finding_the_answer_stale_share_one_comparison(database_url: URL) -> None:
    engine = api_engine(settings_for(database_url), 2, pre_ping=True)
    guard = CountingGuard(engine, CODE)
    check = SharedCheck(guard, anyio.CapacityLimiter(2))
    states: list[SchemaState] = []

    async def request() -> None:
        states.append(await check.state())

    try:
        async with anyio.create_task_group() as requests:
            for _ in range(REQUESTS):
                requests.start_soon(request)
    finally:
        engine.dispose()
    assert guard.calls == 1
    assert len(states) == REQUESTS
    assert all(state.at_head for state in states)


async def test_an_aging_answer_is_refreshed_before_requests_must_wait(database_url: URL) -> None:
    """Past half its 2 s a request is still served from the answer, at once, and starts one
    comparison in the background: under load, no request then waits for a comparison (that
    wait, every 2 s, was the API's slowest percent)."""
    engine = api_engine(settings_for(database_url), 2, pre_ping=True)
    clock = Clock()
    guard = CountingGuard(engine, CODE, max_age_s=2.0, clock=clock)
    check = SharedCheck(guard, anyio.CapacityLimiter(2))
    try:
        first = await check.state()
        clock.now += 0.5
        assert await check.state() is first  # young: nothing starts
        assert guard.calls == 1
        clock.now += 1.0
        for _ in range(REQUESTS):
            assert await check.state() is first  # served from the remembered answer
        with anyio.fail_after(10):
            while guard.recent() is first:
                await anyio.sleep(0.01)  # until the background comparison lands
    finally:
        engine.dispose()
    assert guard.calls == 2
    clock.now += 1.9  # past the first answer's 2 s, within the new one's
    assert (await check.state()).at_head
    assert guard.calls == 2
