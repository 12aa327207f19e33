"""The schema's defaults and constraints behave as the models declare, in PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from chat_backend.models import AI_CHATS, USERS


def test_defaults_fill_a_minimal_user_and_chat(engine: Engine) -> None:
    with engine.begin() as db:
        user = db.execute(insert(USERS).values(username="ada").returning(USERS)).one()
        chat = db.execute(insert(AI_CHATS).values(user_id=user.id).returning(AI_CHATS)).one()

    assert user.preferences == {}
    assert user.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - user.created_at).total_seconds()) < 60
    assert isinstance(chat.id, uuid.UUID)
    assert chat.id.version == 4
    assert (chat.title, chat.model, chat.messages) == ("新對話", "claude-sonnet", [])
    assert chat.created_at.tzinfo is not None
    assert chat.updated_at.tzinfo is not None


def test_jsonb_round_trips_nested_unicode(engine: Engine) -> None:
    messages = [{"role": "user", "content": "你好 👋", "meta": {"tokens": [1, 2]}}]
    preferences = {"theme": "dark", "langs": ["zh", "en"]}
    with engine.begin() as db:
        new_user = insert(USERS).values(username="grace", preferences=preferences)
        user_id = db.scalar(new_user.returning(USERS.c.id))
        db.execute(insert(AI_CHATS).values(user_id=user_id, messages=messages))
    with engine.connect() as connection:
        stored = connection.scalar(text("SELECT messages FROM ai_chats"))
        theme = connection.scalar(text("SELECT preferences->>'theme' FROM users"))
    assert (stored, theme) == (messages, "dark")


def test_timestamps_are_timestamptz(engine: Engine) -> None:
    columns = {
        (table, column["name"]): column["type"]
        for table in ("users", "ai_chats")
        for column in inspect(engine).get_columns(table)
    }
    timestamps = {key: kind for key, kind in columns.items() if key[1].endswith("_at")}
    assert len(timestamps) == 4
    assert all(getattr(kind, "timezone", False) for kind in timestamps.values())


@pytest.mark.parametrize(
    ("constraint", "second_user"),
    [
        ("uq_users_username", ("a", "other@example.com")),
        ("uq_users_email", ("b", "a@example.com")),
        ("uq_users_email", ("b", "A@Example.COM")),
    ],
    ids=["username", "email", "email-in-other-case"],
)
def test_username_and_email_are_unique(
    engine: Engine, constraint: str, second_user: tuple[str, str]
) -> None:
    insert = text("INSERT INTO users (username, email) VALUES (:username, :email)")
    with engine.begin() as connection:
        connection.execute(insert, {"username": "a", "email": "a@example.com"})
    username, email = second_user
    with pytest.raises(IntegrityError, match=constraint), engine.begin() as connection:
        connection.execute(insert, {"username": username, "email": email})


def test_deleting_a_user_deletes_their_chats(engine: Engine) -> None:
    with engine.begin() as connection:
        user_id = connection.scalar(text("INSERT INTO users (username) VALUES ('x') RETURNING id"))
        connection.execute(text("INSERT INTO ai_chats (user_id) VALUES (:id)"), {"id": user_id})
        connection.execute(text("DELETE FROM users"))
        assert connection.scalar(text("SELECT count(*) FROM ai_chats")) == 0


def test_tables_and_columns_have_comments(engine: Engine) -> None:
    inspector = inspect(engine)
    for table in ("users", "ai_chats"):
        assert inspector.get_table_comment(table)["text"]
        assert all(column["comment"] for column in inspector.get_columns(table))


def test_chat_indexes_include_updated_at_descending(engine: Engine) -> None:
    with engine.connect() as connection:
        definitions = connection.scalars(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'ai_chats'")
        ).all()
    assert any("(updated_at DESC)" in d for d in definitions)
    assert any("(user_id)" in d for d in definitions)
