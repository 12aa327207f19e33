"""Snapshots: a round trip brings back exactly the data it saved, whoever was connected."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target
from chat_backend.local_db import snapshots
from chat_backend.local_db.snapshots import SnapshotError, snapshot_database
from tests.local_db_support import fingerprint, own_database, query

SEED = """
INSERT INTO users (username, email, preferences)
SELECT 'user' || n, 'user' || n || '@example.com', jsonb_build_object('n', n)
FROM generate_series(1, 50) AS n;
INSERT INTO ai_chats (user_id, title, messages)
SELECT id, '對話 ' || id, jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'hi'))
FROM users;
"""
CHANGES = """
DELETE FROM ai_chats WHERE user_id % 3 = 0;
UPDATE users SET display_name = 'changed' WHERE id % 2 = 0;
INSERT INTO users (username) VALUES ('added after the snapshot');
"""


@pytest.fixture
def app(server: Target, migrated_template: str) -> Iterator[Target]:
    """A migrated database of this test's own, with data in every table."""
    with own_database(server) as target:
        with Cluster.session(server) as cluster:
            cluster.clone(migrated_template, target.database)
        query(target, SEED)
        yield target


@pytest.mark.parametrize("name", ["before-risky", "v2", "2026_11_27", "a"])
def test_good_names_map_to_a_database_beside_the_original(name: str) -> None:
    assert snapshot_database("chat", name) == f"chat_snapshot_{name}"


@pytest.mark.parametrize(
    "name", ["", "Before", "has space", "-leading", "semi;colon", "é", "x" * 50]
)
def test_bad_names_are_refused_with_the_fix(name: str) -> None:
    with pytest.raises(SnapshotError) as refused:
        snapshot_database("chat", name)

    message = str(refused.value)
    assert f"snapshot name {name!r} is not valid" in message
    assert "at most 49 characters" in message
    assert "e.g. name=before-risky" in message


def test_a_round_trip_brings_back_exactly_the_saved_data(server: Target, app: Target) -> None:
    saved = fingerprint(app)
    with Cluster.session(server) as cluster:
        snapshots.take(cluster, app.database, "before-risky")
    query(app, CHANGES)
    assert fingerprint(app) != saved

    with Cluster.session(server) as cluster:
        snapshots.restore(cluster, app.database, "before-risky")

    assert fingerprint(app) == saved
    assert saved["users"][0] == 50
    assert saved["ai_chats"][0] == 50


def test_a_snapshot_can_be_restored_again_and_again(server: Target, app: Target) -> None:
    saved = fingerprint(app)
    with Cluster.session(server) as cluster:
        snapshots.take(cluster, app.database, "base")
    for _ in range(2):
        query(app, CHANGES)
        with Cluster.session(server) as cluster:
            snapshots.restore(cluster, app.database, "base")
        assert fingerprint(app) == saved


def test_sessions_on_the_database_are_ended_and_can_reconnect(server: Target, app: Target) -> None:
    engine = create_engine(app.url(app.database), pool_pre_ping=True)
    try:
        with engine.connect() as held_open:
            held_open.execute(text("SELECT 1"))
            with Cluster.session(server) as cluster:
                snapshots.take(cluster, app.database, "while-in-use")
                snapshots.restore(cluster, app.database, "while-in-use")
            with pytest.raises(OperationalError):
                held_open.execute(text("SELECT 1"))
        with engine.connect() as fresh:  # the pool's dead connection is replaced
            assert fresh.scalar(text("SELECT count(*) FROM users")) == 50
    finally:
        engine.dispose()


def test_listing_shows_each_snapshot_with_size_and_time(server: Target, app: Target) -> None:
    with Cluster.session(server) as cluster:
        assert snapshots.listing(cluster, app.database) == []
        snapshots.take(cluster, app.database, "first")
        snapshots.take(cluster, app.database, "second")

        listed = snapshots.listing(cluster, app.database)

    assert [snapshot.name for snapshot in listed] == ["first", "second"]
    assert all(snapshot.size_bytes > 1_000_000 for snapshot in listed)
    assert all(snapshot.taken_at.endswith(" UTC") for snapshot in listed)


def test_a_dropped_snapshot_is_gone(server: Target, app: Target) -> None:
    with Cluster.session(server) as cluster:
        snapshots.take(cluster, app.database, "short-lived")
        snapshots.drop(cluster, app.database, "short-lived")

        assert snapshots.listing(cluster, app.database) == []
        assert not cluster.exists("chat_snapshot_short-lived")


def test_taking_a_name_twice_is_refused_with_the_fix(server: Target, app: Target) -> None:
    with Cluster.session(server) as cluster:
        snapshots.take(cluster, app.database, "twice")
        with pytest.raises(SnapshotError, match=r"make drop-snapshot name=twice"):
            snapshots.take(cluster, app.database, "twice")


@pytest.mark.parametrize("action", [snapshots.restore, snapshots.drop])
def test_a_missing_snapshot_is_named_with_the_fix(
    server: Target, app: Target, action: Callable[[Cluster, str, str], None]
) -> None:
    with Cluster.session(server) as cluster, pytest.raises(SnapshotError) as missing:
        action(cluster, app.database, "never-taken")

    assert str(missing.value) == (
        "there is no snapshot named 'never-taken': `make snapshots` lists them"
    )
    assert fingerprint(app)["users"][0] == 50  # untouched
