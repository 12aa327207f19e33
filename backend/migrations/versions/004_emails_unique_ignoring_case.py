"""emails unique ignoring case

Revision ID: 004
Revises: 003
Create Date: 2026-12-06 05:16:24.329864
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "004"
down_revision: str | Sequence[str] | None = "003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Addresses that differ only in case are one mailbox to every mail system people use, so
# `Ann@Example.com` and `ann@example.com` must not be two users. Existing duplicates stop the
# upgrade with one line naming them and the fix (SQL, so `make sql` scripts check too); the
# transaction is rolled back and the database stays at the revision before this one.
REFUSE_CASE_DUPLICATES = """
DO $$
DECLARE
    duplicates text;
BEGIN
    SELECT string_agg(format('%s (ids %s)', addresses, ids), '; ')
    INTO duplicates
    FROM (
        SELECT string_agg(quote_literal(email), ' and ' ORDER BY id) AS addresses,
               string_agg(id::text, ', ' ORDER BY id) AS ids
        FROM users
        WHERE email IS NOT NULL
        GROUP BY lower(email)
        HAVING count(*) > 1
        ORDER BY min(id)
        LIMIT 5
    ) AS groups;
    IF duplicates IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'unique_violation',
            MESSAGE = 'users.email holds addresses that differ only in case, which must now '
                || 'be unique ignoring case: ' || duplicates,
            HINT = 'Change or clear all but one address of each (UPDATE users SET email = NULL '
                || 'WHERE id = ...), then run `make migrate` again.';
    END IF;
END
$$
"""


BYTE_WISE = "Contact address, unique when set."
IGNORING_CASE = "Contact address, unique ignoring case when set."


def upgrade() -> None:
    op.execute(REFUSE_CASE_DUPLICATES)
    op.drop_constraint("uq_users_email", "users", type_="unique")
    # The same name as the constraint it replaces: the API names the field of a 409 by it.
    op.create_index("uq_users_email", "users", [sa.text("lower(email)")], unique=True)
    _comment(IGNORING_CASE, BYTE_WISE)


def downgrade() -> None:
    op.drop_index("uq_users_email", table_name="users")
    op.create_unique_constraint("uq_users_email", "users", ["email"])
    _comment(BYTE_WISE, IGNORING_CASE)


def _comment(new: str, old: str) -> None:
    op.alter_column(
        "users", "email", existing_type=sa.String(255), comment=new, existing_comment=old
    )
