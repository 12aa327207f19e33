"""Disposable local databases: a reset, snapshots and test databases, each a clone of another
database made by PostgreSQL in milliseconds (`CREATE DATABASE ... TEMPLATE`).

`python -m chat_backend.local_db --help` (commands) lists the commands; `make reset`,
`make snapshot` and the other targets run it inside the stack, on the database a target
names (chat_backend.db.target), through the one module that creates, clones and drops
databases (chat_backend.db.cluster). Every command that replaces or deletes one passes the one
guard first (chat_backend.db.local_guard: where libpq really connects, and what the database
says it is), and `make mark-database` marks one. templates builds the migrated template,
snapshots names and lists the snapshots. seed is `make seed`'s sample data.
"""
