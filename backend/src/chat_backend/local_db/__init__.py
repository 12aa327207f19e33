"""Disposable local databases: a reset, snapshots and test databases, each a clone of another
database made by PostgreSQL in milliseconds (`CREATE DATABASE ... TEMPLATE`).

`python -m chat_backend.local_db --help` (commands) lists the commands; `make reset`,
`make snapshot` and the other targets run it inside the stack. target says which database
and environment a command acts on; every command that replaces or deletes one passes the one
guard first (chat_backend.db.local_guard: where libpq really connects, and what the database
says it is), and `make mark-database` marks one; cluster is
the one module that creates, clones and drops databases, templates builds the migrated
template, snapshots names and lists the snapshots. seed is `make seed`'s sample data.
"""
