"""How snapshots of a database are named: one convention for `make snapshot` (local_db) and for
the snapshot the migrator takes before rolling revisions back (database_snapshots).

Imports nothing, so the fast local-database commands can use it.
"""

from __future__ import annotations


def snapshot_prefix(database: str) -> str:
    return f"{database}_snapshot_"
