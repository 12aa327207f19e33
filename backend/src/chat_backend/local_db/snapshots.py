"""Named snapshots of the local database: sealed clones beside it, `<database>_snapshot_<name>`,
with the time they were taken as their comment. Restoring swaps in a clone of one, so the same
snapshot can be restored again and again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from chat_backend.db.cluster import Cluster
from chat_backend.db.snapshot_names import snapshot_prefix

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
# PostgreSQL cuts identifiers at 63 bytes; a longer name would silently meet another one.
MAX_IDENTIFIER = 63
EXAMPLE = "before-risky"


class SnapshotError(Exception):
    """A snapshot name that cannot be used; the message says what to do instead."""


@dataclass(frozen=True)
class Snapshot:
    name: str
    size_bytes: int
    taken_at: str


def snapshot_database(database: str, name: str) -> str:
    """The database that holds snapshot `name` of `database`; SnapshotError if `name` is bad."""
    longest = MAX_IDENTIFIER - len(snapshot_prefix(database))
    if not NAME_PATTERN.fullmatch(name) or len(name) > longest:
        raise SnapshotError(
            f"snapshot name {name!r} is not valid: use lowercase letters, digits, '-' and '_' "
            f"(at most {longest} characters, starting with a letter or digit), "
            f"e.g. name={EXAMPLE}"
        )
    return snapshot_prefix(database) + name


def take(cluster: Cluster, database: str, name: str) -> None:
    snapshot = snapshot_database(database, name)
    if cluster.exists(snapshot):
        raise SnapshotError(
            f"a snapshot named {name!r} already exists: choose another name, or delete it "
            f"first with `make drop-snapshot name={name}`"
        )
    cluster.clone_live(database, snapshot)
    cluster.seal(snapshot, f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")


def restore(cluster: Cluster, database: str, name: str) -> None:
    cluster.replace(database, _existing(cluster, database, name))


def drop(cluster: Cluster, database: str, name: str) -> None:
    cluster.drop(_existing(cluster, database, name))


def listing(cluster: Cluster, database: str) -> list[Snapshot]:
    """Every snapshot of `database`, oldest first."""
    prefix = snapshot_prefix(database)
    snapshots = [
        Snapshot(info.name.removeprefix(prefix), info.size_bytes, info.comment or "unknown")
        for info in cluster.describe(prefix)
    ]
    return sorted(snapshots, key=lambda snapshot: (snapshot.taken_at, snapshot.name))


def _existing(cluster: Cluster, database: str, name: str) -> str:
    snapshot = snapshot_database(database, name)
    if not cluster.exists(snapshot):
        raise SnapshotError(f"there is no snapshot named {name!r}: `make snapshots` lists them")
    return snapshot
