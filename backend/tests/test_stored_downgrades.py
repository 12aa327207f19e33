"""What a stored downgrade() drops, read without running it, and counted on a real PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, text

from chat_backend.revisions.stored_downgrades import Drop, counted, drops

SOURCE = """
import sqlalchemy as sa
from alembic import op

revision = "009"
down_revision = "008"


def upgrade() -> None:
    op.drop_table("not_in_downgrade")


def downgrade() -> None:
    op.drop_column("users", "display_name")
    op.drop_column(table_name="users", column_name="email", schema="public")
    op.drop_table("ai_chats")
    op.drop_table("archive", schema="old")
    op.drop_table(f"computed_{revision}")
    op.execute("DROP TABLE users")
"""


def test_only_literal_drop_calls_in_downgrade_are_read() -> None:
    assert drops(SOURCE, "<stored>") == [
        Drop("users", "display_name", "public"),
        Drop("users", "email", "public"),
        Drop("ai_chats", None, "public"),
        Drop("archive", None, "old"),
    ]


def test_counts_say_what_each_drop_holds_now(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (username, display_name) VALUES ('ada', 'Ada'), ('bob', NULL)")
        )
    with engine.connect() as connection:
        found = [counted(connection, drop) for drop in drops(SOURCE, "<stored>")]
    assert [str(drop) for drop in found] == [
        "column users.display_name (1 non-null value)",
        "column users.email (0 non-null values)",
        "table ai_chats (0 rows)",
        "table old.archive (not in the database)",
    ]
