"""Users and AI chats on PostgreSQL, with the schema versioned by Alembic."""
