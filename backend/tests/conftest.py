"""Fixtures shared by the database tests: a real PostgreSQL server, a template database
migrated once per session, a fresh database per test (a clone, or empty), an API client over
it; and the logging set-up put back after every test."""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pytest_alembic.config import Config as PytestAlembicConfig
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from chat_backend.db.cluster import Cluster, mark
from chat_backend.db.target import Target
from chat_backend.local_db.templates import build_template
from chat_backend.revisions.throwaway_postgres import database_server
from tests.alembic_support import ALEMBIC_INI
from tests.api_support import api_client

_names = itertools.count()

# The longest chains of work, longest first (CI's durations: the dev container's group is its
# start, 50 s, then the whole fast suite inside, minutes; the 300-revision squash 86 s; the two
# schemathesis runs 70 s and 65 s). `make test` keeps this order (--no-loadscope-reorder), and
# pytest-xdist hands the first four units of work to the four workers at once, so none of them
# starts late behind another long one; the short tests fill in, and the workers end together.
LONGEST_FIRST = (
    "tests/e2e/test_devcontainer.py",
    "tests/e2e/test_squash_history.py",
    "tests/test_api_fuzz.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_longest_first)


def _longest_first(item: pytest.Item) -> int:
    module = item.nodeid.split("::", 1)[0]
    return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)


# The loggers alembic.ini configures (migrations/env.py applies it with fileConfig).
ALEMBIC_INI_LOGGERS = ("", "sqlalchemy.engine", "alembic")


@pytest.fixture(autouse=True)
def _logging_put_back() -> Iterator[None]:
    """A test that runs env.py in-process applies alembic.ini's logging, whose console handler
    writes to the sys.stderr of that moment: that test's capture, closed when it ends. A later
    test's log lines would then fail to write and print a logging error into its output."""
    loggers = [logging.getLogger(name) for name in ALEMBIC_INI_LOGGERS]
    saved = [(logger, logger.handlers[:], logger.level, logger.disabled) for logger in loggers]
    yield
    for logger, handlers, level, disabled in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.disabled = disabled


SOURCE_KEY_VARIABLE = "MIGRATION_SOURCE_KEY_FILE"


@pytest.fixture(autouse=True, scope="session")
def _source_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The key that proves stored revision sources, for this run only (every migrator the
    tests start, in process or not, reads MIGRATION_SOURCE_KEY_FILE): never the developer's."""
    before = os.environ.get(SOURCE_KEY_VARIABLE)
    os.environ[SOURCE_KEY_VARIABLE] = str(tmp_path_factory.mktemp("source-key") / "key")
    yield
    if before is None:
        del os.environ[SOURCE_KEY_VARIABLE]
    else:
        os.environ[SOURCE_KEY_VARIABLE] = before


def unique_name(kind: str) -> str:
    return f"chat_test_{os.getpid()}_{kind}_{next(_names)}"


@pytest.fixture(scope="session")
def server_url() -> Iterator[URL]:
    """Admin URL of the test server (revisions/throwaway_postgres.py says where it comes from)."""
    with database_server() as url:
        yield url


@pytest.fixture(scope="session")
def admin(server_url: URL) -> Iterator[Engine]:
    """An autocommit session on the server, for statements such as CREATE ROLE."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def production_login(admin: Engine, server_url: URL) -> Iterator[URL]:
    """The test server's URL under a login of its own with a random password, for the tests
    that run with APP_ENV=production: production refuses a placeholder password, and the
    server's may be one (the stack's development default, when the tests run in the dev
    container). A member of the server's user, so it reaches what that user owns."""
    name, password = unique_name("production"), secrets.token_urlsafe(16)
    with admin.connect() as connection:
        connection.execute(
            text(f'CREATE ROLE "{name}" LOGIN PASSWORD :password IN ROLE "{server_url.username}"'),
            {"password": password},
        )
    yield server_url.set(username=name, password=password)
    with admin.connect() as connection:
        connection.execute(text(f'DROP ROLE "{name}"'))


@pytest.fixture(scope="session")
def server(server_url: URL) -> Target:
    """The test server as chat_backend.local_db addresses it."""
    return Target.from_url(server_url, app_env="test")


@pytest.fixture(scope="session")
def migrated_template(server: Target) -> Iterator[str]:
    """A database at head, cloned for each test that needs a migrated database: built and
    cloned as `make reset` builds and clones its template (chat_backend.local_db)."""
    name = unique_name("template")
    with Cluster.session(server) as cluster:
        # Its clones say they are test databases: the one guard lets nothing else be reset.
        build_template(cluster, server, name, ALEMBIC_INI, environment="test")
    yield name
    with Cluster.session(server) as cluster:
        cluster.drop(name)


@pytest.fixture
def database_url(server: Target, server_url: URL, migrated_template: str) -> Iterator[URL]:
    """A fresh database at head, for this test only."""
    name = unique_name("db")
    with Cluster.session(server) as cluster:
        cluster.clone(migrated_template, name)
    yield server_url.set(database=name)
    with Cluster.session(server) as cluster:
        cluster.drop(name)


@pytest.fixture
def empty_database_url(server: Target, server_url: URL) -> Iterator[URL]:
    """A fresh, empty database, for tests whose point is running the migrations."""
    name = unique_name("empty")
    with Cluster.session(server) as cluster:
        cluster.create(name)
    mark(server, name, "test")
    yield server_url.set(database=name)
    with Cluster.session(server) as cluster:
        cluster.drop(name)


@pytest.fixture
def engine(database_url: URL) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


# pytest-alembic's fixtures: its built-in tests run on an empty database of their own.
@pytest.fixture
def alembic_config() -> PytestAlembicConfig:
    return PytestAlembicConfig(config_options={"file": str(ALEMBIC_INI)})


@pytest.fixture
def alembic_engine(empty_database_url: URL) -> Iterator[Engine]:
    engine = create_engine(empty_database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
async def client(database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the API over this test's database (the API tests run under anyio)."""
    async with api_client(database_url) as client:
        yield client
