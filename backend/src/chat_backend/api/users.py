"""/users: create, read, list, update and delete the people who own chats."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import BindParameter, Integer, bindparam, delete, insert, select, update

from chat_backend.api.database import Database
from chat_backend.api.errors import conflict, not_found, violated_constraint
from chat_backend.api.json_values import Storable, storable_json
from chat_backend.api.pages import Limit, Offset, Page
from chat_backend.db.driver_statements import Statement
from chat_backend.models import metadata

USERS = metadata.tables["users"]
# The fields a unique constraint or index guards, to name one in a 409.
UNIQUE_FIELDS = ("username", "email")
# PostgreSQL's `integer`: a larger id cannot exist, so it is refused before any query.
MAX_ID = 2**31 - 1
# Preferences are a few UI settings, not a document store.
MAX_PREFERENCES_BYTES = 16 * 1024

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id.")]
Username = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\s\x00]+$"), Storable
]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=100), Storable]
Email = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"),
    Storable,
]
Preferences = Annotated[dict[str, Any], storable_json(MAX_PREFERENCES_BYTES)]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    display_name: DisplayName | None = None
    email: Email | None = None
    preferences: Preferences = {}


class UserChanges(BaseModel):
    """Only the fields present change; `null` clears `display_name` or `email`."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    email: Email | None = None
    preferences: Preferences = {}


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str | None
    email: str | None
    preferences: dict[str, Any]
    created_at: datetime
    last_login_at: datetime | None


# Built once with named parameters; an update's statement depends only on which fields it
# sets, so each combination is compiled once too.
USER_ID: BindParameter[Any] = bindparam("user_id")
INSERT_USER = Statement(
    insert(USERS)
    .values({name: bindparam(name) for name in NewUser.model_fields})
    .returning(*USERS.c)
)
LIST_USERS = Statement(
    select(USERS)
    .order_by(USERS.c.id)
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)
GET_USER = Statement(select(USERS).where(USERS.c.id == USER_ID))
DELETE_USER = Statement(delete(USERS).where(USERS.c.id == USER_ID).returning(USERS.c.id))


@cache
def update_user_statement(fields: frozenset[str]) -> Statement:
    values: dict[str, Any] = {name: bindparam(name) for name in sorted(fields)}
    return Statement(update(USERS).where(USERS.c.id == USER_ID).values(values).returning(*USERS.c))


def user_routes(
    db: Database, route_class: type[APIRoute], responses: dict[int | str, dict[str, Any]]
) -> APIRouter:
    router = APIRouter(
        prefix="/users", tags=["users"], route_class=route_class, responses=responses
    )

    @router.post("", status_code=201)
    async def create_user(new: NewUser) -> User:
        values = new.model_dump()
        return _user(await _write(db, INSERT_USER, values))

    @router.get("")
    async def list_users(limit: Limit = 50, offset: Offset = 0) -> Page[User]:
        rows = await db.rows(LIST_USERS, {"limit": limit + 1, "offset": offset})
        return Page[User].of([_user(row) for row in rows], limit, offset)

    @router.get("/{user_id}")
    async def get_user(user_id: UserId) -> User:
        return _found(await db.row(GET_USER, {"user_id": user_id}), user_id)

    @router.patch("/{user_id}")
    async def update_user(user_id: UserId, changes: UserChanges) -> User:
        values = changes.model_dump(exclude_unset=True)
        if not values:
            return await get_user(user_id)
        statement = update_user_statement(frozenset(values))
        return _found(await _write(db, statement, {**values, "user_id": user_id}), user_id)

    @router.delete("/{user_id}", status_code=204, response_class=Response)
    async def delete_user(user_id: UserId) -> None:
        if await db.row(DELETE_USER, {"user_id": user_id}) is None:
            raise not_found("user", user_id)

    return router


async def _write(
    db: Database, statement: Statement, values: dict[str, Any]
) -> asyncpg.Record | None:
    """Run a write; a duplicate username or email becomes a 409 naming the field."""
    try:
        return await db.row(statement, values)
    except asyncpg.UniqueViolationError as error:
        # PostgreSQL's detail names the key's columns: `Key (lower(email))=(...) already
        # exists.` Only the part before the value, which could hold any word.
        key = (error.detail or "").partition(")=(")[0]
        field = unique_field(violated_constraint(error) or "") or unique_field(key)
        if field is None:
            raise
        raise conflict(field, values[field]) from None


def unique_field(constraint: str) -> str | None:
    """The field a unique constraint or index of `users` guards: `uq_users_email` or an index
    over an expression of it (`ix_users_lower_email`, say) both name it."""
    return next((field for field in UNIQUE_FIELDS if field in constraint), None)


def _user(row: asyncpg.Record | None) -> User:
    # The row holds the schema's own types: nothing to validate again.
    return User.model_construct(**dict(row or {}))


def _found(row: asyncpg.Record | None, user_id: int) -> User:
    if row is None:
        raise not_found("user", user_id)
    return _user(row)
