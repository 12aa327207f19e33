"""GET /health and the schema guard: 200 only when the database answers and is at head;
otherwise 503 on /health and on every data route, until the database catches up (no restart).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import anyio
import httpx
import pytest
from alembic import command
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.branch_marker import marker_comment
from tests.alembic_support import migration_config
from tests.api_support import CODE, api_client, error_of, guard_log

pytestmark = pytest.mark.anyio

# One route of each kind, with a body that would be valid at head.
HELLO = {"messages": [{"role": "user", "content": "hi"}]}
DATA_REQUESTS = [
    ("GET", "/users", None),
    ("POST", "/users", {"username": "ada"}),
    ("GET", "/users/1/chats", None),
    ("POST", "/chats/00000000-0000-0000-0000-000000000001/messages", HELLO),
]


@pytest.fixture
def guard_records() -> Iterator[list[logging.LogRecord]]:
    with guard_log() as records:
        yield records


def warnings_in(records: list[logging.LogRecord]) -> list[str]:
    return [record.getMessage() for record in records if record.levelno == logging.WARNING]


async def migrate(url: URL, direction: str, revision: str) -> None:
    config = migration_config(url)
    migrate_to = command.upgrade if direction == "up" else command.downgrade
    await anyio.to_thread.run_sync(migrate_to, config, revision)
    config.attributes["connection"].dispose()


async def test_health_is_ok_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "reachable",
        "revision": CODE.head,
        "head": CODE.head,
        "branch": None,
        "problem": None,
    }


async def test_health_names_the_branch_whose_data_is_served(
    client: httpx.AsyncClient, database_url: URL
) -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text(f'COMMENT ON DATABASE "{database_url.database}" IS :c'),
            {"c": marker_comment("feature/notes")},
        )
    engine.dispose()

    response = await client.get("/health")

    assert response.json()["branch"] == "feature/notes"


async def test_a_database_behind_head_is_refused_until_it_catches_up(
    client: httpx.AsyncClient, database_url: URL, guard_records: list[logging.LogRecord]
) -> None:
    await migrate(database_url, "down", "002")

    health = await client.get("/health")
    assert health.status_code == 503
    assert health.json() == {
        "status": "unavailable",
        "database": "reachable",
        "revision": "002",
        "head": CODE.head,
        "branch": None,
        "problem": error_of(await client.get("/users"), 503)["message"],
    }
    for method, path, body in DATA_REQUESTS:
        error = error_of(await client.request(method, path, json=body), 503)
        assert error["code"] == "database_unavailable"
        assert "revision 002" in error["message"]
        assert f"revision {CODE.head!r}" in error["message"]
        assert "`make migrate`" in error["message"]
    await client.get("/health")
    assert len(warnings_in(guard_records)) == 1
    assert "`make migrate`" in warnings_in(guard_records)[0]

    await migrate(database_url, "up", "head")
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/users")).status_code == 200
    assert "again" in guard_records[-1].getMessage()


async def test_a_query_failing_on_a_stale_schema_is_503(
    client: httpx.AsyncClient, database_url: URL
) -> None:
    """The guard remembers its answer briefly; a query that fails in that window because the
    schema moved is still reported as the schema problem, not as a server error."""
    await migrate(database_url, "down", "002")
    error = error_of(await client.get("/users"), 503)
    assert "`make migrate`" in error["message"]


async def test_a_phantom_revision_is_named_with_the_fix(
    client: httpx.AsyncClient, database_url: URL
) -> None:
    """A database migrated on another branch: at a revision this code does not have."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '999'"))
    engine.dispose()

    health = await client.get("/health")

    assert health.status_code == 503
    assert health.json()["revision"] == "999"
    problem = health.json()["problem"]
    assert "revision '999', which this code does not have (a phantom revision" in problem
    assert "run `make migrate`, which in development and test rolls it back" in problem
    for method, path, body in DATA_REQUESTS:
        assert error_of(await client.request(method, path, json=body), 503)["message"] == problem


@pytest.fixture
def unreachable_url(server_url: URL) -> URL:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    return server_url.set(port=port)


async def test_an_unreachable_database_is_503(
    unreachable_url: URL, guard_records: list[logging.LogRecord]
) -> None:
    async with api_client(unreachable_url) as client:
        health = await client.get("/health")
        assert health.status_code == 503
        assert health.json() == {
            "status": "unavailable",
            "database": "unreachable",
            "revision": None,
            "head": CODE.head,
            "branch": None,
            "problem": error_of(await client.get("/users"), 503)["message"],
        }
        for method, path, body in DATA_REQUESTS:
            error = error_of(await client.request(method, path, json=body), 503)
            assert error["message"].startswith("The database is unreachable")
            assert "POSTGRES_HOST" in error["message"]
    assert len(warnings_in(guard_records)) == 1
