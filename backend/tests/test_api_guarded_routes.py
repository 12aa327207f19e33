"""The schema guard on the data routes' path: a stale answer is refreshed by one comparison
that every request arriving meanwhile awaits, not by a thread hop per request (on a real
PostgreSQL, through the guard's own psycopg2 engine)."""

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
