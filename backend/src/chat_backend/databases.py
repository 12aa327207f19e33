"""Whole databases on a server: create (optionally as a clone of a template) and drop.

Cloning a migrated template is how tests get a fresh database in milliseconds.
"""

from __future__ import annotations

from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.pool import NullPool


def admin_engine(url: URL) -> Engine:
    """An engine for CREATE/DROP DATABASE: autocommit, and no pooled connection left behind
    (a pooled connection to a template database would block cloning it)."""
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_database(admin: Engine, name: str, *, template: str | None = None) -> None:
    quote = admin.dialect.identifier_preparer.quote
    statement = f"CREATE DATABASE {quote(name)}"
    if template is not None:
        statement += f" TEMPLATE {quote(template)}"
    with admin.connect() as connection:
        connection.execute(text(statement))


def drop_database(admin: Engine, name: str) -> None:
    """Drop the database if it exists, ending the sessions still connected to it."""
    quote = admin.dialect.identifier_preparer.quote
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)"))
