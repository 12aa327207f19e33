"""What the branch-switching tests share: a branch's revision that adds a NOT NULL column
filled from the existing rows, and the queries that see it and the rows around it."""

from __future__ import annotations

ADD_NICKNAME = """
op.add_column("users", sa.Column("nickname", sa.Text(), nullable=False, server_default="anon"))
op.execute("UPDATE users SET nickname = 'nick-' || username")
"""
DROP_NICKNAME = 'op.drop_column("users", "nickname")'
USERS = "SELECT string_agg(username, ',' ORDER BY username) FROM users"
VERSION = "SELECT string_agg(version_num, ',') FROM alembic_version"
# 1 while the branch's column exists, 0 once it is rolled back.
COLUMN = (
    "SELECT count(*) FROM information_schema.columns "
    "WHERE table_name = 'users' AND column_name = 'nickname'"
)
