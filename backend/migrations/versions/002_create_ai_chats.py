"""create ai_chats

Revision ID: 002
Revises: 001
Create Date: 2026-11-27 00:00:02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "002"
down_revision: str | Sequence[str] | None = "001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_chats",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
            comment="Random UUID.",
        ),
        sa.Column("user_id", sa.Integer(), nullable=False, comment="Owner of the chat."),
        sa.Column(
            "title",
            sa.String(length=200),
            server_default=sa.text("'新對話'::character varying"),
            nullable=False,
            comment="Chat title.",
        ),
        sa.Column(
            "model",
            sa.String(length=100),
            server_default=sa.text("'claude-sonnet'::character varying"),
            nullable=False,
            comment="AI model answering in this chat.",
        ),
        sa.Column(
            "messages",
            postgresql.JSONB(),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
            comment="Messages in order, each a JSON object.",
        ),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the chat was created.",
        ),
        sa.Column(
            "updated_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the chat last changed.",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ai_chats"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_ai_chats_user_id_users", ondelete="CASCADE"
        ),
        comment="Conversations between a user and an AI model.",
    )
    op.create_index("ix_ai_chats_user_id", "ai_chats", ["user_id"])
    op.create_index("ix_ai_chats_updated_at", "ai_chats", [sa.text("updated_at DESC")])


def downgrade() -> None:
    op.drop_index("ix_ai_chats_updated_at", table_name="ai_chats")
    op.drop_index("ix_ai_chats_user_id", table_name="ai_chats")
    op.drop_table("ai_chats")
