"""The tables, as SQLAlchemy models: the target the migrations must match (`alembic check`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, MetaData, String, text
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


class User(Base):
    __tablename__ = "users"
    __table_args__ = ({"comment": "People who own chats."},)

    id: Mapped[int] = mapped_column(primary_key=True, comment="Surrogate key.")
    username: Mapped[str] = mapped_column(
        String(100), unique=True, comment="Login name, unique across users."
    )
    display_name: Mapped[str | None] = mapped_column(String(100), comment="Name shown in the UI.")
    email: Mapped[str | None] = mapped_column(
        String(255), unique=True, comment="Contact address, unique when set."
    )
    preferences: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), comment="Free-form UI preferences."
    )
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMPTZ, server_default=NOW, comment="When the user was created."
    )
    last_login_at: Mapped[datetime | None] = mapped_column(
        TIMESTAMPTZ, comment="When the user last logged in."
    )


class AiChat(Base):
    __tablename__ = "ai_chats"
    __table_args__ = (
        Index("ix_ai_chats_user_id", "user_id"),
        Index("ix_ai_chats_updated_at", text("updated_at DESC")),
        {"comment": "Conversations between a user and an AI model."},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        primary_key=True,
        server_default=text("gen_random_uuid()"),
        comment="Random UUID.",
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), comment="Owner of the chat."
    )
    title: Mapped[str] = mapped_column(
        String(200), server_default=text("'新對話'::character varying"), comment="Chat title."
    )
    model: Mapped[str] = mapped_column(
        String(100),
        server_default=text("'claude-sonnet'::character varying"),
        comment="AI model answering in this chat.",
    )
    messages: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB,
        server_default=text("'[]'::jsonb"),
        comment="Messages in order, each a JSON object.",
    )
    created_at: Mapped[datetime] = mapped_column(
        TIMESTAMPTZ, server_default=NOW, comment="When the chat was created."
    )
    updated_at: Mapped[datetime] = mapped_column(
        TIMESTAMPTZ, server_default=NOW, comment="When the chat last changed."
    )


__all__ = ["NAMING_CONVENTION", "AiChat", "Base", "User", "metadata"]
