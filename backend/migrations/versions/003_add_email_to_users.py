"""add email to users

Revision ID: 003
Revises: 002
Create Date: 2026-11-27 00:00:03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "003"
down_revision: str | Sequence[str] | None = "002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, so existing users stay valid; unique only among the users who have one.
    op.add_column(
        "users",
        sa.Column("email", sa.String(length=255), comment="Contact address, unique when set."),
    )
    op.create_unique_constraint("uq_users_email", "users", ["email"])


def downgrade() -> None:
    op.drop_constraint("uq_users_email", "users", type_="unique")
    op.drop_column("users", "email")
