"""`make seed`: sample data to try the API with, a demo user with one chat.

Safe to run again: rows that are already there are left as they are, so a second run (or two
at once) still leaves one demo user with one welcome chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError

from chat_backend.config import Settings, exit_with_problems, settings_or_exit
from chat_backend.db.engine import make_engine
from chat_backend.db.schema_state import SchemaState, database_revision, load_code_schema
from chat_backend.exit_codes import FAILED
from chat_backend.models import AI_CHATS, USERS

DEMO_USER = {
    "username": "demo",
    "display_name": "Demo User",
    "preferences": {"theme": "light"},
}
WELCOME_CHAT = {
    "title": "Welcome",
    "messages": [
        {"role": "user", "content": "Hello! What can I do here?"},
        {"role": "assistant", "content": "This chat comes from `make seed`; see the API at /docs."},
    ],
}
# Any constant shared by concurrent seeds: the second waits, then finds the rows there.
SEED_LOCK = 0x5EED


@dataclass(frozen=True)
class Seeded:
    user_id: int
    created_user: bool
    created_chat: bool


def seed(engine: Engine) -> Seeded:
    with engine.begin() as db:
        db.execute(select(func.pg_advisory_xact_lock(SEED_LOCK)))
        user_id, created_user = _demo_user(db)
        created_chat = not _has_welcome_chat(db, user_id)
        if created_chat:
            db.execute(insert(AI_CHATS).values(user_id=user_id, **WELCOME_CHAT))
    return Seeded(user_id, created_user, created_chat)


def _demo_user(db: Connection) -> tuple[int, bool]:
    """The demo user's id, and whether this call created it."""
    new = insert(USERS).values(DEMO_USER).on_conflict_do_nothing(index_elements=["username"])
    created = db.scalar(new.returning(USERS.c.id))
    if created is not None:
        return created, True
    return db.scalars(
        select(USERS.c.id).where(USERS.c.username == DEMO_USER["username"])
    ).one(), False


def _has_welcome_chat(db: Connection, user_id: int) -> bool:
    query = select(AI_CHATS.c.id).where(
        AI_CHATS.c.user_id == user_id, AI_CHATS.c.title == WELCOME_CHAT["title"]
    )
    return db.scalar(query.exists().select()) is True


def describe(seeded: Seeded) -> str:
    name, title = DEMO_USER["username"], WELCOME_CHAT["title"]
    if not (seeded.created_user or seeded.created_chat):
        return (
            f"seed: user {name!r} (id {seeded.user_id}) and its chat {title!r} were already there"
        )
    made = "created" if seeded.created_user else "found"
    chat = "added" if seeded.created_chat else "kept"
    return f"seed: {made} user {name!r} (id {seeded.user_id}); {chat} its chat {title!r}"


def schema_problem(engine: Engine) -> str | None:
    """Why the schema cannot take the sample data (not at head), or None."""
    code = load_code_schema()
    try:
        revision = database_revision(engine)
    except OperationalError:
        return SchemaState(reachable=False, revision=None, code=code).problem
    return SchemaState(reachable=True, revision=revision, code=code).problem


def main(settings: Settings) -> None:
    if settings.app_env == "production":
        exit_with_problems(
            [
                "APP_ENV=production: sample data is for development databases only; "
                "set APP_ENV=development to seed this one"
            ]
        )
    engine = make_engine(settings)
    try:
        problem = schema_problem(engine)
        if problem is not None:
            exit_with_problems([problem], code=FAILED)
        print(describe(seed(engine)))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(settings_or_exit())
