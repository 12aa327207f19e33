"""An API bench peer: the least an async FastAPI app does to serve GET /chats/{id} from
PostgreSQL with psycopg 3's async pool (opened in the lifespan, autocommit), served by the
same uvicorn command as the project.

    BASELINE_DSN=postgresql://... uvicorn --app-dir bench psycopg_app:app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

CONNECTIONS = 10  # as the project's pool
QUERY = """
    SELECT id, user_id, title, model, jsonb_array_length(messages) AS message_count,
           created_at, updated_at, messages
    FROM ai_chats WHERE id = %s
"""
pools: list[AsyncConnectionPool] = []


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    pool = AsyncConnectionPool(
        os.environ["BASELINE_DSN"],
        min_size=CONNECTIONS,
        max_size=CONNECTIONS,
        kwargs={"autocommit": True, "row_factory": dict_row},
        open=False,
    )
    await pool.open(wait=True)
    pools.append(pool)
    yield
    await pools.pop().close()


app = FastAPI(lifespan=lifespan)


@app.get("/chats/{chat_id}")
async def get_chat(chat_id: uuid.UUID) -> dict[str, Any]:
    async with pools[0].connection() as connection:
        row = await (await connection.execute(QUERY, (chat_id,))).fetchone()
    if row is None:
        raise HTTPException(404)
    return dict(row)
