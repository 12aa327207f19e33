"""create users

Revision ID: 001
Revises:
Create Date: 2026-11-27 00:00:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, comment="Surrogate key."),
        sa.Column(
            "username",
            sa.String(length=100),
            nullable=False,
            comment="Login name, unique across users.",
        ),
        sa.Column("display_name", sa.String(length=100), comment="Name shown in the UI."),
        sa.Column(
            "preferences",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="Free-form UI preferences.",
        ),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the user was created.",
        ),
        sa.Column(
            "last_login_at",
            postgresql.TIMESTAMP(timezone=True),
            comment="When the user last logged in.",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        comment="People who own chats.",
    )


def downgrade() -> None:
    op.drop_table("users")
