"""Core statements compiled for asyncpg answer as SQLAlchemy's `execute` on psycopg2 does, on
a real PostgreSQL: one definition, the same SQL meaning, the same values and types (JSONB
decoded by the pool's codec, not returned as text), and parameters in `$n` order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import URL, Engine, text

from chat_backend.api.chats import APPEND_MESSAGES, GET_CHAT
from chat_backend.db.api_pool import open_api_pool
from chat_backend.db.driver_statements import Statement, compiled
from tests.api_support import settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pool(database_url: URL) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_api_pool(settings_for(database_url), size=2)
    yield pool
    await pool.close()


@pytest.fixture
def chat_id(engine: Engine) -> uuid.UUID:
    with engine.begin() as db:
        user = db.scalar(text("INSERT INTO users (username) VALUES ('ada') RETURNING id"))
        created = db.scalar(
            text("INSERT INTO ai_chats (user_id, messages) VALUES (:user, :messages) RETURNING id"),
            {"user": user, "messages": '[{"role": "user", "content": "你好"}]'},
        )
    assert isinstance(created, uuid.UUID)
    return created


def core_row(engine: Engine, statement: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    with engine.begin() as db:
        return dict(db.execute(statement, parameters).one()._mapping)


def test_parameters_are_numbered_in_the_order_of_the_sql() -> None:
    statement = Statement(APPEND_MESSAGES)
    assert "$1::JSONB" in statement.sql
    assert "$2::UUID" in statement.sql
    assert statement.names == ("appended", "chat_id")
    assert statement.args({"chat_id": 7, "appended": [1]}) == [[1], 7]


def test_values_bound_in_a_statement_come_with_it() -> None:
    sql, args = compiled(GET_CHAT.params(chat_id=uuid.UUID(int=1)))
    assert sql.endswith("WHERE ai_chats.id = $1::UUID")
    assert args == [uuid.UUID(int=1)]


async def test_a_row_has_the_values_and_types_execute_gives(
    pool: asyncpg.Pool, engine: Engine, chat_id: uuid.UUID
) -> None:
    statement = Statement(GET_CHAT)
    row = await pool.fetchrow(statement.sql, *statement.args({"chat_id": chat_id}))
    assert row is not None
    expected = core_row(engine, GET_CHAT, {"chat_id": chat_id})
    assert dict(row) == expected
    assert isinstance(row["messages"], list)  # decoded by the codec, not a JSON string
    for got, wanted in zip(row.values(), expected.values(), strict=True):
        assert isinstance(got, type(wanted)), (got, wanted)


async def test_jsonb_parameters_are_python_values_and_the_write_is_committed(
    pool: asyncpg.Pool, engine: Engine, chat_id: uuid.UUID
) -> None:
    appended = [{"role": "assistant", "content": 'a "quoted" \\ answer'}]
    statement = Statement(APPEND_MESSAGES)
    row = await pool.fetchrow(
        statement.sql, *statement.args({"chat_id": chat_id, "appended": appended})
    )
    assert row is not None
    assert row["message_count"] == 2
    stored = core_row(engine, GET_CHAT, {"chat_id": chat_id})["messages"]
    assert stored[1] == appended[0]
