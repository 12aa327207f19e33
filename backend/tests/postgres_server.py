"""The PostgreSQL server the database tests use: see chat_backend.throwaway_postgres, which
`make check` shares."""

from chat_backend.throwaway_postgres import database_server

__all__ = ["database_server"]
