"""Parked copies on a real server: a swap serves one branch's data and parks the other's, both
ways; a swap killed half-way leaves every database as it was; pruning drops the copies of
deleted branches and the least recently used beyond the cap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from chat_backend.db.branch_marker import marked_branch, marker_comment
from chat_backend.db.cluster import Cluster
from chat_backend.db.parked_copies import (
    ParkedCopy,
    listing,
    park_clone,
    parked,
    parked_name,
    prune,
    swap_in,
)
from chat_backend.db.target import Target
from tests.local_db_support import own_database, query
from tests.reconnecting_clients import reconnecting_clients
from tests.waiting import wait_until

USERS = "SELECT string_agg(username, ',' ORDER BY username) FROM users"
CHAIN = frozenset({("001", "a" * 64)})
# Runs one swap in a process of its own, so that the test can kill it half-way.
SWAP = """
import json, os
from chat_backend.db.parked_copies import listing, parked, swap_in
from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target

target = Target(**json.loads(os.environ["SWAP_TARGET"]))
with Cluster.session(target) as cluster:
    [arriving] = listing(cluster, target.database)
    swap_in(cluster, target.database, parked(target.database, "main", [], frozenset()), arriving)
"""
# Parks a clone of the live database, likewise.
PARK = """
import json, os
from chat_backend.db.parked_copies import park_clone, parked
from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target

target = Target(**json.loads(os.environ["SWAP_TARGET"]))
with Cluster.session(target) as cluster:
    park_clone(cluster, target.database, parked(target.database, "main", [], frozenset()))
"""


@pytest.fixture
def live(server: Target, migrated_template: str) -> Iterator[Target]:
    """A migrated database of the test's own: branch feature's data is parked (one user), and
    the live database holds main's (another user)."""
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.clone(migrated_template, target.database)
            query(target, "INSERT INTO users (username) VALUES ('on-feature')")
            park_clone(cluster, target.database, parked(target.database, "feature", [], CHAIN))
            query(target, "UPDATE users SET username = 'on-main'")
        query(target, f'COMMENT ON DATABASE "{target.database}" IS :c', c=marker_comment("main"))
        yield target


def served(server: Target, target: Target) -> tuple[str | None, object]:
    with Cluster.session(server) as cluster:
        branch = marked_branch(cluster.comment(target.database))
    return branch, query(target, USERS)[0][0]


def test_a_swap_serves_the_parked_copy_and_parks_the_live_data_both_ways(
    server: Target, live: Target
) -> None:
    with Cluster.session(server) as cluster:
        [feature] = listing(cluster, live.database)
        swap_in(cluster, live.database, parked(live.database, "main", ["003"], CHAIN), feature)

    assert served(server, live) == ("feature", "on-feature")

    with Cluster.session(server) as cluster:
        [main] = listing(cluster, live.database)
        assert (main.branch, main.heads, main.chain) == ("main", ("003",), CHAIN)
        swap_in(cluster, live.database, parked(live.database, "feature", [], CHAIN), main)

    assert served(server, live) == ("main", "on-main")
    with Cluster.session(server) as cluster:
        assert [copy.branch for copy in listing(cluster, live.database)] == ["feature"]


def test_a_swap_killed_half_way_loses_nothing(server: Target, live: Target, admin: Engine) -> None:
    feature = parked_name(live.database, "feature")
    # The swap's second rename waits for a lock on the copy; by then it has renamed the live
    # database.
    killed_half_way(admin, live, SWAP, holding=feature, statement="ALTER DATABASE")
    wait_until(lambda: not swap_sessions(admin), "the killed swap's session to end")

    assert served(server, live) == ("main", "on-main")
    with Cluster.session(server) as cluster:
        [copy] = listing(cluster, live.database)
        assert (copy.name, copy.branch) == (feature, "feature")
        assert cluster.names(f"{live.database}_branch_") == [feature]


def killed_half_way(
    admin: Engine, live: Target, script: str, *, holding: str, statement: str
) -> None:
    """Run `script` in a process of its own and SIGKILL it while its `statement` waits for a
    lock on database `holding`, which the test holds meanwhile."""
    env = {**os.environ, "SWAP_TARGET": json.dumps(asdict(replace(live, query=())))}
    with admin.connect() as blocker:
        blocker.execute(text("BEGIN"))
        blocker.execute(text(f"COMMENT ON DATABASE \"{holding}\" IS 'held by the test'"))
        process = subprocess.Popen([sys.executable, "-c", script], env=env)
        try:
            wait_until(lambda: waiting(admin, statement), f"{statement} to wait half-way")
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        blocker.execute(text("ROLLBACK"))


def waiting(admin: Engine, statement: str) -> bool:
    """Whether a session of the local-database commands waits for a lock in `statement`."""
    with admin.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'chat-local-db' AND wait_event_type = 'Lock' AND starts_with(query, :s)"
                ),
                {"s": statement},
            )
        )


def swap_sessions(admin: Engine) -> int:
    with admin.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'chat-local-db' AND query LIKE '%RENAME%'"
                )
            )
            or 0
        )


def test_prune_drops_deleted_branches_then_the_least_recently_parked_beyond_the_cap(
    server: Target, live: Target
) -> None:
    now = datetime.now(UTC)
    with Cluster.session(server) as cluster:
        for age, branch in ((3, "oldest"), (2, "deleted"), (1, "newest")):
            copy = replace(
                parked(live.database, branch, [], CHAIN), parked_at=now - timedelta(hours=age)
            )
            park_clone(cluster, live.database, copy)

        lines = prune(cluster, live.database, 2, lambda branch: branch != "deleted")

        kept = [copy.branch for copy in listing(cluster, live.database)]
    assert kept == ["newest", "feature"]
    assert lines[0] == "Dropped the parked copy of branch 'deleted': the branch is gone from git"
    assert lines[1].startswith("Dropped the parked copy of branch 'oldest' (parked ")
    assert lines[1].endswith("the least recently used): more than PARKED_BRANCHES_MAX=2 copies")
    assert len(lines) == 2


@pytest.mark.parametrize("branch", ["feature/x", "Feature-X", "a" * 200, "ünïcode", "x;y"])
def test_names_are_valid_identifiers_and_distinct_for_names_alike(branch: str) -> None:
    name = parked_name("chat", branch)

    assert len(name.encode()) <= 63
    assert name.startswith("chat_branch_")
    assert name != parked_name("chat", "feature-x")


def test_a_copy_fits_a_checkout_holding_every_revision_it_applied_unchanged() -> None:
    copy = ParkedCopy(
        "n", "b", ("002",), frozenset({("001", "a"), ("002", "b")}), datetime.now(UTC)
    )

    assert copy.fits(frozenset({("001", "a"), ("002", "b"), ("003", "c")}))
    assert copy.fits(frozenset({("001", "a"), ("002", "b")}))
    assert not copy.fits(frozenset({("001", "a"), ("002", "edited")}))
    assert not copy.fits(frozenset({("001", "a")}))


def test_a_swap_wins_against_clients_that_reconnect_at_once(server: Target, live: Target) -> None:
    # The API's pool replaces an ended connection at once: ended before the rename takes its
    # lock, the clients are back in time to make it fail ("being accessed by other users").
    with reconnecting_clients(live, count=4) as clients:
        wait_until(lambda: all(client.connections for client in clients), "the clients")
        with Cluster.session(server) as cluster:
            [feature] = listing(cluster, live.database)
            swap_in(cluster, live.database, parked(live.database, "main", [], CHAIN), feature)

    assert served(server, live) == ("feature", "on-feature")


def test_a_park_killed_half_way_leaves_the_database_serving(
    server: Target, live: Target, admin: Engine
) -> None:
    # The copy waits for a lock on the database it copies.
    killed_half_way(admin, live, PARK, holding=live.database, statement="CREATE DATABASE")

    assert served(server, live) == ("main", "on-main")
