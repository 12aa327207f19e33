"""Disposable local databases: a reset, snapshots and test databases, each a clone of another
database made by PostgreSQL in milliseconds (`CREATE DATABASE ... TEMPLATE`).

`python -m chat_backend.local_db --help` lists the commands; `make reset`, `make snapshot` and
the other targets run it inside the stack. Every command that replaces or deletes a database
passes `guard.require_local` first.
"""
