"""An API bench peer: the least an async FastAPI app does to serve GET /chats/{id} from
PostgreSQL with an asyncpg pool (opened in the lifespan, JSONB decoded by a codec), served by
the same uvicorn command as the project.

    BASELINE_DSN=postgresql://... uvicorn --app-dir bench asyncpg_app:app
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException

CONNECTIONS = 10  # as the project's pool
QUERY = """
    SELECT id, user_id, title, model, jsonb_array_length(messages) AS message_count,
           created_at, updated_at, messages
    FROM ai_chats WHERE id = $1
"""
pools: list[asyncpg.Pool] = []


async def decode_jsonb(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ["BASELINE_DSN"]
    pools.append(await asyncpg.create_pool(dsn, max_size=CONNECTIONS, init=decode_jsonb))
    yield
    await pools.pop().close()


app = FastAPI(lifespan=lifespan)


@app.get("/chats/{chat_id}")
async def get_chat(chat_id: uuid.UUID) -> dict[str, Any]:
    row = await pools[0].fetchrow(QUERY, chat_id)
    if row is None:
        raise HTTPException(404)
    return dict(row)
