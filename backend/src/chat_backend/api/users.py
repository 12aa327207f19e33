"""/users: create, read, list, update and delete the people who own chats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import Connection, Engine, Executable, delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from chat_backend.api.errors import conflict, not_found, violated_constraint
from chat_backend.api.json_values import Storable, storable_json
from chat_backend.api.pages import Limit, Offset, Page
from chat_backend.models import metadata

USERS = metadata.tables["users"]
# Which field a unique constraint guards, to name it in a 409.
UNIQUE_FIELDS = {"uq_users_username": "username", "uq_users_email": "email"}
# PostgreSQL's `integer`: a larger id cannot exist, so it is refused before any query.
MAX_ID = 2**31 - 1
# Preferences are a few UI settings, not a document store.
MAX_PREFERENCES_BYTES = 16 * 1024

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id.")]
Username = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^\S+$"), Storable
]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=100), Storable]
Email = Annotated[
    str, StringConstraints(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), Storable
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


def user_routes(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/users", tags=["users"])

    @router.post("", status_code=201)
    def create_user(new: NewUser) -> User:
        values = new.model_dump()
        with engine.begin() as db:
            row = _write(db, insert(USERS).values(values).returning(*USERS.c), values)
        return User.model_validate(row)

    @router.get("")
    def list_users(limit: Limit = 50, offset: Offset = 0) -> Page[User]:
        query = select(USERS).order_by(USERS.c.id).limit(limit + 1).offset(offset)
        with engine.connect() as db:
            users = [User.model_validate(row) for row in db.execute(query)]
        return Page[User].of(users, limit, offset)

    @router.get("/{user_id}")
    def get_user(user_id: UserId) -> User:
        with engine.connect() as db:
            return _found(db.execute(select(USERS).where(USERS.c.id == user_id)).first(), user_id)

    @router.patch("/{user_id}")
    def update_user(user_id: UserId, changes: UserChanges) -> User:
        values = changes.model_dump(exclude_unset=True)
        if not values:
            return get_user(user_id)
        statement = update(USERS).where(USERS.c.id == user_id).values(values).returning(*USERS.c)
        with engine.begin() as db:
            return _found(_write(db, statement, values), user_id)

    @router.delete("/{user_id}", status_code=204, response_class=Response)
    def delete_user(user_id: UserId) -> None:
        with engine.begin() as db:
            deleted = db.execute(delete(USERS).where(USERS.c.id == user_id)).rowcount
        if not deleted:
            raise not_found("user", user_id)

    return router


def _write(db: Connection, statement: Executable, values: dict[str, Any]) -> Row[Any] | None:
    """Run a write; a duplicate username or email becomes a 409 naming the field."""
    try:
        return db.execute(statement).first()
    except IntegrityError as error:
        field = UNIQUE_FIELDS.get(violated_constraint(error) or "")
        if field is None:
            raise
        raise conflict(field, values[field]) from None


def _found(row: Row[Any] | None, user_id: int) -> User:
    if row is None:
        raise not_found("user", user_id)
    return User.model_validate(row)
