"""Parked copies: each branch's data kept beside the database while another branch is served.

A parked copy is a sealed database `<database>_branch_<branch slug>_<digest>` whose comment
(branch_marker) holds its branch, its revision chain (every applied revision's id and
checksum, read from its alembic_version_checksums) and when it was parked. One copy per
branch: parking a branch again replaces its copy. The chain says whether a copy fits a
checkout: every revision it applied is in the checkout, with the same checksum, so Alembic
only has to upgrade it the rest of the way (`fits`).

Every operation runs through local_db's Cluster: a session on the maintenance database that
the one guard (local_db.guard) judged local, holding the lock that resets, snapshots and
template builds hold too. A swap is a single transaction of renames (Cluster.swap).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from chat_backend.db.branch_marker import marker_comment, read_marker
from chat_backend.local_db.cluster import Cluster

# A revision's id and the sha256 of its file when it was applied.
Chain = frozenset[tuple[str, str]]
# Keeps the names well under PostgreSQL's 63 bytes (a longer one would be cut silently).
SLUG_LENGTH = 24
DIGEST_LENGTH = 8
DEFAULT_KEEP = 5


def parked_prefix(database: str) -> str:
    return f"{database}_branch_"


def parked_name(database: str, branch: str) -> str:
    """The copy's database name: readable in `\\l`, unique by the digest of the whole name."""
    slug = re.sub(r"[^a-z0-9]+", "-", branch.lower()).strip("-")[:SLUG_LENGTH]
    digest = hashlib.sha256(branch.encode()).hexdigest()[:DIGEST_LENGTH]
    return f"{parked_prefix(database)}{slug}_{digest}"


@dataclass(frozen=True)
class ParkedCopy:
    name: str
    branch: str
    heads: tuple[str, ...]
    chain: Chain
    parked_at: datetime
    size_bytes: int = 0

    def fits(self, checkout: Chain) -> bool:
        """Whether the checkout has every revision this copy applied, unchanged."""
        return self.chain <= checkout

    @property
    def head(self) -> str:
        return ",".join(self.heads) or "base"

    def comment(self) -> str:
        return marker_comment(
            self.branch,
            heads=list(self.heads),
            chain=sorted(map(list, self.chain)),
            parked_at=self.parked_at.isoformat(),
        )


def parked(database: str, branch: str, heads: Iterable[str], chain: Chain) -> ParkedCopy:
    """The copy `branch`'s data becomes when parked now."""
    return ParkedCopy(parked_name(database, branch), branch, tuple(heads), chain, datetime.now(UTC))


def listing(cluster: Cluster, database: str) -> list[ParkedCopy]:
    """Every parked copy of `database`, least recently parked first."""
    copies = []
    for info in cluster.describe(parked_prefix(database)):
        marker = read_marker(info.comment)
        if marker is None:
            continue  # not ours (or a copy half-made by a crashed park): prune leaves it
        copies.append(
            ParkedCopy(
                info.name,
                str(marker["branch"]),
                tuple(marker.get("heads", ())),
                frozenset((str(rev), str(sha)) for rev, sha in marker.get("chain", ())),
                datetime.fromisoformat(str(marker["parked_at"])),
                info.size_bytes,
            )
        )
    return sorted(copies, key=lambda copy: copy.parked_at)


def find(cluster: Cluster, database: str, branch: str) -> ParkedCopy | None:
    name = parked_name(database, branch)
    return next((copy for copy in listing(cluster, database) if copy.name == name), None)


def park_clone(cluster: Cluster, database: str, copy: ParkedCopy) -> None:
    """Park a clone of the live `database` as `copy` (replacing the branch's older copy)."""
    cluster.drop(copy.name)
    cluster.clone_live(database, copy.name)
    cluster.seal(copy.name, copy.comment())


def swap_in(cluster: Cluster, database: str, leaving: ParkedCopy, arriving: ParkedCopy) -> None:
    """Park the live `database` as `leaving` and serve `arriving` in its place: renames in one
    transaction. An older copy of the leaving branch goes first."""
    cluster.drop(leaving.name)
    comments = {leaving.name: leaving.comment(), database: marker_comment(arriving.branch)}
    cluster.swap(database, leaving.name, arriving.name, comments)


def drop(cluster: Cluster, database: str, branch: str) -> bool:
    """Drop `branch`'s parked copy; whether there was one."""
    copy = find(cluster, database, branch)
    if copy is not None:
        cluster.drop(copy.name)
    return copy is not None


def prune(
    cluster: Cluster, database: str, keep: int, has_branch: Callable[[str], bool | None]
) -> list[str]:
    """Drop the copies of branches git no longer has, then the least recently parked beyond
    `keep`; one line for each."""
    lines = []
    copies = listing(cluster, database)
    for copy in copies:
        if has_branch(copy.branch) is False:
            cluster.drop(copy.name)
            lines.append(
                f"Dropped the parked copy of branch {copy.branch!r}: the branch is gone from git"
            )
    kept = [copy for copy in copies if has_branch(copy.branch) is not False]
    for copy in kept[: max(len(kept) - keep, 0)]:
        cluster.drop(copy.name)
        lines.append(
            f"Dropped the parked copy of branch {copy.branch!r} (parked {_when(copy)}, the least "
            f"recently used): more than PARKED_BRANCHES_MAX={keep} copies"
        )
    return lines


def _when(copy: ParkedCopy) -> str:
    return f"{copy.parked_at:%Y-%m-%d %H:%M} UTC"
