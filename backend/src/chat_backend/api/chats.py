"""Chats: a user's conversations, and the atomic append of messages to one."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import (
    BindParameter,
    Integer,
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from chat_backend.api.database import Database
from chat_backend.api.errors import not_found, violated_constraint
from chat_backend.api.json_values import Storable
from chat_backend.api.pages import Limit, Offset, Page
from chat_backend.api.responses import json_response
from chat_backend.api.users import USER_ID, USERS, UserId
from chat_backend.db.driver_statements import Statement
from chat_backend.models import metadata

CHATS = metadata.tables["ai_chats"]
OWNER_CONSTRAINT = "fk_ai_chats_user_id_users"
MAX_MESSAGES_PER_APPEND = 100
# A long answer fits; a whole book does not (the request body limit caps an append anyway).
MAX_CONTENT_CHARS = 100_000

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


# Built once with named parameters (a statement compiled per request costs more than its run).
CHAT_ID: BindParameter[Any] = bindparam("chat_id")
GET_CHAT = select(*SUMMARY, CHATS.c.messages).where(CHATS.c.id == CHAT_ID)
APPEND_MESSAGES = (
    update(CHATS)
    .where(CHATS.c.id == CHAT_ID)
    .values(
        messages=CHATS.c.messages.op("||")(bindparam("appended", type_=JSONB)),
        updated_at=TOUCHED,
    )
    .returning(*SUMMARY)
)
# A page of a user's chats, most recently changed first (ties broken by id, so pages never
# overlap).
CHATS_OF_USER = (
    select(*SUMMARY)
    .where(CHATS.c.user_id == USER_ID)
    .order_by(CHATS.c.updated_at.desc(), CHATS.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)


def chats_of_user(user_id: int, limit: int, offset: int) -> Select[Any]:
    """CHATS_OF_USER with its values, as the route runs it (for EXPLAIN)."""
    return CHATS_OF_USER.params(user_id=user_id, limit=limit, offset=offset)


USER_EXISTS = select(exists().where(USERS.c.id == USER_ID))
RENAME_CHAT = (
    update(CHATS)
    .where(CHATS.c.id == CHAT_ID)
    .values(title=bindparam("title"), updated_at=TOUCHED)
    .returning(*SUMMARY, CHATS.c.messages)
)
DELETE_CHAT = delete(CHATS).where(CHATS.c.id == CHAT_ID).returning(CHATS.c.id)


@cache
def insert_chat_statement(fields: frozenset[str]) -> Statement:
    """A new chat's INSERT setting `fields`; the schema's defaults fill in the others."""
    values = {"user_id": USER_ID, **{name: bindparam(name) for name in sorted(fields)}}
    return Statement(insert(CHATS).values(values).returning(*SUMMARY, CHATS.c.messages))


def chat_routes(
    db: Database, route_class: type[APIRoute], responses: dict[int | str, dict[str, Any]]
) -> APIRouter:
    router = APIRouter(tags=["chats"], route_class=route_class, responses=responses)
    get_chat_row, append_messages_row = Statement(GET_CHAT), Statement(APPEND_MESSAGES)
    chats_of_user, user_exists = Statement(CHATS_OF_USER), Statement(USER_EXISTS)
    rename_chat_row, delete_chat_row = Statement(RENAME_CHAT), Statement(DELETE_CHAT)

    @router.post("/users/{user_id}/chats", status_code=201)
    async def create_chat(user_id: UserId, new: NewChat) -> Chat:
        values = new.model_dump(exclude_none=True)
        try:
            row = await db.row(
                insert_chat_statement(frozenset(values)), {**values, "user_id": user_id}
            )
        except asyncpg.ForeignKeyViolationError as error:
            if violated_constraint(error) != OWNER_CONSTRAINT:
                raise
            raise not_found("user", user_id) from None
        assert row is not None  # an INSERT ... RETURNING returns its row
        return Chat.model_construct(**dict(row))

    @router.get("/users/{user_id}/chats")
    async def list_chats(
        user_id: UserId, limit: Limit = 50, offset: Offset = 0
    ) -> Page[ChatSummary]:
        page = {"user_id": user_id, "limit": limit + 1, "offset": offset}
        rows = await db.rows(chats_of_user, page)
        # An empty page is the only case where an unknown user must be told apart.
        if not rows and not (await db.row(user_exists, {"user_id": user_id}) or [False])[0]:
            raise not_found("user", user_id)
        chats = [ChatSummary.model_construct(**dict(row)) for row in rows]
        return Page[ChatSummary].of(chats, limit, offset)

    # The busiest two answer with the rows as they come: they hold the schema's own types, so
    # the response models take them without validating again (model_construct), which would
    # cost more than the query.
    @router.get("/chats/{chat_id}", response_model=Chat)
    async def get_chat(chat_id: ChatId) -> Response:
        row = await db.row(get_chat_row, {"chat_id": chat_id})
        return json_response(Chat.model_construct(**_found(row, chat_id)))

    @router.patch("/chats/{chat_id}")
    async def rename_chat(chat_id: ChatId, rename: ChatRename) -> Chat:
        row = await db.row(rename_chat_row, {"chat_id": chat_id, "title": rename.title})
        return Chat.model_construct(**_found(row, chat_id))

    @router.delete("/chats/{chat_id}", status_code=204, response_class=Response)
    async def delete_chat(chat_id: ChatId) -> None:
        _found(await db.row(delete_chat_row, {"chat_id": chat_id}), chat_id)

    @router.post("/chats/{chat_id}/messages", response_model=ChatSummary)
    async def append_messages(chat_id: ChatId, new: NewMessages) -> Response:
        """Append to the chat's messages in one UPDATE: concurrent appends never lose one,
        because PostgreSQL serializes them on the row instead of Python reading and writing."""
        values = {"chat_id": chat_id, "appended": new.model_dump()["messages"]}
        row = await db.row(append_messages_row, values)
        return json_response(ChatSummary.model_construct(**_found(row, chat_id)))

    return router


def _found(row: asyncpg.Record | None, key: object) -> dict[str, Any]:
    if row is None:
        raise not_found("chat", key)
    return dict(row)
