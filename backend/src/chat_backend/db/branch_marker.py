"""Which branch a database's data belongs to, kept in the database's own comment.

The migrator marks the database it serves (`COMMENT ON DATABASE`, JSON), and parked copies
carry their branch and revision chain the same way (parked_copies). A comment lives in the
server's catalog and changes in the same transaction as the renames of a swap, so a swap killed
half-way leaves every name and mark as it was; and the backend reads it with one query to say on
/health whose data it serves. A clone does not copy a comment: a database restored from a
snapshot or reset from the template is unmarked until the next migrator run marks it.

Imports nothing heavy: the backend's /health reads it.
"""

from __future__ import annotations

import json
from typing import Any

# The comment of the database this session is connected to.
READ_OWN_COMMENT = (
    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
    "WHERE datname = current_database()"
)
KIND = "chat_backend branch data"


def marker_comment(branch: str, **details: Any) -> str:
    """The comment that marks a database as `branch`'s data (with `details`, for parked copies)."""
    return json.dumps({"kind": KIND, "branch": branch, **details}, sort_keys=True)


def read_marker(comment: str | None) -> dict[str, Any] | None:
    """The mark in a database comment; None for no comment or anyone else's comment."""
    try:
        marker = json.loads(comment or "")
    except ValueError:
        return None
    if not isinstance(marker, dict) or marker.get("kind") != KIND:
        return None
    if not isinstance(marker.get("branch"), str):
        return None
    return marker


def marked_branch(comment: str | None) -> str | None:
    marker = read_marker(comment)
    return None if marker is None else str(marker["branch"])
