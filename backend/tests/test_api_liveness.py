"""GET /livez: the process serves HTTP; never asks the database, so a database outage or a
migration makes the pods unready (/health), never restarts them."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from chat_backend.revisions.throwaway_postgres import free_port
from tests.api_support import api_client

pytestmark = pytest.mark.anyio


async def test_livez_is_ok_while_the_database_is_unreachable() -> None:
    unreachable = URL.create(
        "postgresql+psycopg2", username="chat", host="127.0.0.1", port=free_port(), database="chat"
    )
    async with api_client(unreachable) as client:
        assert (await client.get("/health")).status_code == 503
        response = await client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
