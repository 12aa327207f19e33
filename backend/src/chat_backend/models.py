"""The tables, as SQLAlchemy Core `Table`s: the target the migrations must match (`alembic
check`), and what the API's queries are built from.

Core, not ORM classes: nothing here needs identity maps or sessions, and importing
`sqlalchemy.orm` cost every Python start that reads the schema (the migrator, `make current`,
the API) about 0.2 s of the migrator's 0.7 s of imports (measured in the backend image). An
ORM class can still map one of these tables (`__table__ = USERS`) where a feature wants it.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID

# Constraint names are part of the schema: migrations and `alembic check` rely on them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NOW = text("now()")
TIMESTAMPTZ = TIMESTAMP(timezone=True)

metadata = MetaData(naming_convention=NAMING_CONVENTION)

USERS = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, comment="Surrogate key."),
    Column(
        "username",
        String(100),
        nullable=False,
        unique=True,
        comment="Login name, unique across users.",
    ),
    Column("display_name", String(100), comment="Name shown in the UI."),
    Column("email", String(255), comment="Contact address, unique ignoring case when set."),
    Column(
        "preferences",
        JSONB,
        nullable=False,
        server_default=text("'{}'::jsonb"),
        comment="Free-form UI preferences.",
    ),
    Column(
        "created_at",
        TIMESTAMPTZ,
        nullable=False,
        server_default=NOW,
        comment="When the user was created.",
    ),
    Column("last_login_at", TIMESTAMPTZ, comment="When the user last logged in."),
    # `Ann@Example.com` and `ann@example.com` are one mailbox: unique ignoring case.
    Index("uq_users_email", text("lower(email)"), unique=True),
    comment="People who own chats.",
)

AI_CHATS = Table(
    "ai_chats",
    metadata,
    Column(
        "id",
        UUID(as_uuid=True),
        primary_key=True,
        server_default=text("gen_random_uuid()"),
        comment="Random UUID.",
    ),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        comment="Owner of the chat.",
    ),
    Column(
        "title",
        String(200),
        nullable=False,
        server_default=text("'新對話'::character varying"),
        comment="Chat title.",
    ),
    Column(
        "model",
        String(100),
        nullable=False,
        server_default=text("'claude-sonnet'::character varying"),
        comment="AI model answering in this chat.",
    ),
    Column(
        "messages",
        JSONB,
        nullable=False,
        server_default=text("'[]'::jsonb"),
        comment="Messages in order, each a JSON object.",
    ),
    Column(
        "created_at",
        TIMESTAMPTZ,
        nullable=False,
        server_default=NOW,
        comment="When the chat was created.",
    ),
    Column(
        "updated_at",
        TIMESTAMPTZ,
        nullable=False,
        server_default=NOW,
        comment="When the chat last changed.",
    ),
    Index("ix_ai_chats_user_id", "user_id"),
    Index("ix_ai_chats_updated_at", text("updated_at DESC")),
    comment="Conversations between a user and an AI model.",
)

__all__ = ["AI_CHATS", "NAMING_CONVENTION", "USERS", "metadata"]
