"""The API bench's baseline: the least a FastAPI app does to serve GET /chats/{id} from
PostgreSQL with psycopg2 (a plain sync route, a fixed pool, one autocommit query), served by
the same uvicorn command as the project. The project should be at least this fast.

    BASELINE_DSN=postgresql://... uvicorn --app-dir bench baseline_app:app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from psycopg2.extras import RealDictCursor
from psycopg2.pool import ThreadedConnectionPool

CONNECTIONS = 10  # as the project: one per worker thread
QUERY = """
    SELECT id, user_id, title, model, jsonb_array_length(messages) AS message_count,
           created_at, updated_at, messages
    FROM ai_chats WHERE id = %s
"""
pools: list[ThreadedConnectionPool] = []


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = CONNECTIONS
    pools.append(ThreadedConnectionPool(CONNECTIONS, CONNECTIONS, os.environ["BASELINE_DSN"]))
    yield
    pools.pop().closeall()


app = FastAPI(lifespan=lifespan)


@app.get("/chats/{chat_id}")
def get_chat(chat_id: uuid.UUID) -> dict[str, Any]:
    connection = pools[0].getconn()
    try:
        connection.autocommit = True
        with connection.cursor(cursor_factory=RealDictCursor) as cursor:
            cursor.execute(QUERY, (str(chat_id),))
            row = cursor.fetchone()
    finally:
        pools[0].putconn(connection)
    assert row is not None
    return dict(row)
