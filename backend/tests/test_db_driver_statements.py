"""A statement run on the driver's cursor answers as SQLAlchemy's `execute` would, on a real
PostgreSQL: the same values and types, the same exception classes, and after the server drops
every pooled connection one failure, then new connections."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import URL, Engine, Integer, String, bindparam, cast, select, text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from chat_backend.api.chats import APPEND_MESSAGES, GET_CHAT
from chat_backend.db.driver_statements import DriverStatement
from chat_backend.db.engine import api_engine
from tests.api_support import settings_for

POOL = 3
LOCK_NOT_AVAILABLE = "55P03"


@pytest.fixture
def api_db(database_url: URL) -> Iterator[Engine]:
    """The API's kind of engine (autocommit, a fixed pool) on a fresh database."""
    settings = settings_for(database_url).model_copy(update={"api_lock_timeout_ms": 200})
    engine = api_engine(settings, POOL)
    yield engine
    engine.dispose()


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


def test_a_row_has_the_values_and_types_execute_gives(api_db: Engine, chat_id: uuid.UUID) -> None:
    row = DriverStatement(api_db, GET_CHAT).first({"chat_id": chat_id})
    expected = core_row(api_db, GET_CHAT, {"chat_id": chat_id})
    assert row == expected
    assert row is not None
    assert [type(value) for value in row.values()] == [type(value) for value in expected.values()]


def test_no_row_is_none(api_db: Engine) -> None:
    assert DriverStatement(api_db, GET_CHAT).first({"chat_id": uuid.uuid4()}) is None


def test_parameters_pass_through_their_types_bind_processing(
    api_db: Engine, chat_id: uuid.UUID
) -> None:
    """JSONB needs its parameter serialized, as `execute` does; the write is committed."""
    appended = [{"role": "assistant", "content": 'a "quoted" \\ answer'}]
    row = DriverStatement(api_db, APPEND_MESSAGES).first({"chat_id": chat_id, "appended": appended})
    assert row is not None
    assert row["message_count"] == 2
    stored = core_row(api_db, GET_CHAT, {"chat_id": chat_id})["messages"]
    assert stored[1] == appended[0]


def test_a_refused_value_is_sqlalchemys_data_error_and_the_connection_goes_back(
    api_db: Engine,
) -> None:
    statement = select(cast(bindparam("n", type_=String), Integer))
    with pytest.raises(DataError) as raised:
        DriverStatement(api_db, statement).first({"n": "not a number"})
    assert raised.value.connection_invalidated is False
    assert api_db.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_lock_timeout_keeps_its_sqlstate_for_the_error_handlers(
    api_db: Engine, engine: Engine, chat_id: uuid.UUID
) -> None:
    with engine.connect() as holder:
        holder.execute(text("LOCK TABLE ai_chats IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(OperationalError) as raised:
            DriverStatement(api_db, GET_CHAT).first({"chat_id": chat_id})
    assert getattr(raised.value.orig, "pgcode", None) == LOCK_NOT_AVAILABLE
    assert DriverStatement(api_db, GET_CHAT).first({"chat_id": chat_id}) is not None


def test_after_the_server_drops_every_connection_one_call_fails_then_all_reconnect(
    api_db: Engine, engine: Engine, chat_id: uuid.UUID
) -> None:
    """As after a database restart. Without replacing the whole pool, each further dead
    connection would fail one more request."""
    held = [api_db.raw_connection() for _ in range(POOL)]  # the pool now holds POOL of them
    for connection in held:
        connection.close()
    with engine.connect() as db:
        db.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    statement = DriverStatement(api_db, GET_CHAT)
    with pytest.raises(DBAPIError) as raised:
        statement.first({"chat_id": chat_id})
    assert raised.value.connection_invalidated is True
    for _ in range(POOL):
        assert statement.first({"chat_id": chat_id}) is not None
