"""Chats: a user's conversations, and the atomic append of messages to one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Engine, Select, bindparam, delete, exists, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from chat_backend.api.errors import not_found, violated_constraint
from chat_backend.api.json_values import Storable
from chat_backend.api.pages import Limit, Offset, Page
from chat_backend.api.responses import json_response
from chat_backend.api.users import USERS, UserId
from chat_backend.db.driver_statements import DriverStatement
from chat_backend.models import metadata

CHATS = metadata.tables["ai_chats"]
OWNER_CONSTRAINT = "fk_ai_chats_user_id_users"
MAX_MESSAGES_PER_APPEND = 100
# A long answer fits; a whole book does not (the request body limit caps an append anyway).
MAX_CONTENT_CHARS = 100_000
RowT = TypeVar("RowT")

# Strictly later than the last change even when two transactions commit out of the order in
# which they started (now() is the transaction's start): the UPDATE holds the row's lock and
# reads the committed updated_at, so every change moves it forward.
TOUCHED = text("greatest(clock_timestamp(), ai_chats.updated_at + interval '1 microsecond')")

ChatId = Annotated[uuid.UUID, Path(description="The chat's id.")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), Storable]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=100), Storable]
Content = Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS), Storable]

SUMMARY = (
    CHATS.c.id,
    CHATS.c.user_id,
    CHATS.c.title,
    CHATS.c.model,
    func.jsonb_array_length(CHATS.c.messages).label("message_count"),
    CHATS.c.created_at,
    CHATS.c.updated_at,
)


class NewChat(BaseModel):
    """Absent (or null) fields take the schema's defaults."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    model: ModelName | None = None


class ChatRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: Content


class NewMessages(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES_PER_APPEND)


class ChatSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: int
    title: str
    model: str
    message_count: int
    created_at: datetime
    updated_at: datetime


class Chat(ChatSummary):
    messages: list[dict[str, Any]]


# The two busiest statements, built once (a query built per request costs more than its run).
GET_CHAT = select(*SUMMARY, CHATS.c.messages).where(CHATS.c.id == bindparam("chat_id"))
APPEND_MESSAGES = (
    update(CHATS)
    .where(CHATS.c.id == bindparam("chat_id"))
    .values(
        messages=CHATS.c.messages.op("||")(bindparam("appended", type_=JSONB)),
        updated_at=TOUCHED,
    )
    .returning(*SUMMARY)
)


def chats_of_user(user_id: int, limit: int, offset: int) -> Select[Any]:
    """A page of a user's chats, most recently changed first (ties broken by id, so pages
    never overlap)."""
    return (
        select(*SUMMARY)
        .where(CHATS.c.user_id == user_id)
        .order_by(CHATS.c.updated_at.desc(), CHATS.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


def chat_routes(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["chats"])
    # The busiest two run on the driver's cursor (db/driver_statements.py says why). Their
    # rows are the schema's own types, so the response models take them without validating
    # again (model_construct): that would cost more than the query.
    get_chat_row = DriverStatement(engine, GET_CHAT)
    append_messages_row = DriverStatement(engine, APPEND_MESSAGES)

    @router.post("/users/{user_id}/chats", status_code=201)
    def create_chat(user_id: UserId, new: NewChat) -> Chat:
        statement = insert(CHATS).values(user_id=user_id, **new.model_dump(exclude_none=True))
        try:
            with engine.begin() as db:
                row = db.execute(statement.returning(*SUMMARY, CHATS.c.messages)).one()
        except IntegrityError as error:
            if violated_constraint(error) != OWNER_CONSTRAINT:
                raise
            raise not_found("user", user_id) from None
        return Chat.model_validate(row)

    @router.get("/users/{user_id}/chats")
    def list_chats(user_id: UserId, limit: Limit = 50, offset: Offset = 0) -> Page[ChatSummary]:
        with engine.connect() as db:
            rows = db.execute(chats_of_user(user_id, limit + 1, offset)).all()
            # An empty page is the only case where an unknown user must be told apart.
            if not rows and not db.scalar(select(exists().where(USERS.c.id == user_id))):
                raise not_found("user", user_id)
        chats = [ChatSummary.model_validate(row) for row in rows]
        return Page[ChatSummary].of(chats, limit, offset)

    @router.get("/chats/{chat_id}", response_model=Chat)
    def get_chat(chat_id: ChatId) -> Response:
        row = get_chat_row.first({"chat_id": chat_id})
        return json_response(Chat.model_construct(**_found(row, chat_id)))

    @router.patch("/chats/{chat_id}")
    def rename_chat(chat_id: ChatId, rename: ChatRename) -> Chat:
        statement = (
            update(CHATS)
            .where(CHATS.c.id == chat_id)
            .values(title=rename.title, updated_at=TOUCHED)
            .returning(*SUMMARY, CHATS.c.messages)
        )
        with engine.begin() as db:
            return Chat.model_validate(_found(db.execute(statement).first(), chat_id))

    @router.delete("/chats/{chat_id}", status_code=204, response_class=Response)
    def delete_chat(chat_id: ChatId) -> None:
        with engine.begin() as db:
            deleted = db.execute(delete(CHATS).where(CHATS.c.id == chat_id)).rowcount
        if not deleted:
            raise not_found("chat", chat_id)

    @router.post("/chats/{chat_id}/messages", response_model=ChatSummary)
    def append_messages(chat_id: ChatId, new: NewMessages) -> Response:
        """Append to the chat's messages in one UPDATE: concurrent appends never lose one,
        because PostgreSQL serializes them on the row instead of Python reading and writing."""
        values = {"chat_id": chat_id, "appended": new.model_dump()["messages"]}
        row = append_messages_row.first(values)
        return json_response(ChatSummary.model_construct(**_found(row, chat_id)))

    return router


def _found(row: RowT | None, chat_id: uuid.UUID) -> RowT:
    if row is None:
        raise not_found("chat", chat_id)
    return row
