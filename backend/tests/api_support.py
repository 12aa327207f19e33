"""What the API tests share: settings for a test database, and an HTTP client of an app
built on them (with its startup and shutdown run, as a server would)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import URL

from chat_backend.api import create_app
from chat_backend.config import Settings
from chat_backend.db.schema_state import CodeSchema, load_code_schema
from tests.alembic_support import ALEMBIC_INI

CODE: CodeSchema = load_code_schema(ALEMBIC_INI)
START_TIMEOUT_S = 30.0


def settings_for(url: URL) -> Settings:
    """Settings for `url` only: neither the environment's database nor a .env file counts."""
    return Settings(
        _env_file=None,
        database_url=SecretStr(url.render_as_string(hide_password=False)),
    )


@asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app`, with the app's startup and shutdown run around it. It calls the
    app by a loopback name, as a browser on the developer's machine would."""
    transport = httpx.ASGITransport(app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as client,
    ):
        yield client


@asynccontextmanager
async def api_client(url: URL) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings_for(url), CODE)) as client:
        yield client


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The `error` object of a response that must have failed with `status`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def guard_log() -> Iterator[list[logging.LogRecord]]:
    """What the schema guard logs. Its own handler, not pytest's caplog: running a migration
    reconfigures logging from alembic.ini, which replaces the root logger's handlers."""
    logger, handler = logging.getLogger("chat_backend.db.schema_state"), Records()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The base URL of `app` served by uvicorn on a free loopback port, in a thread of this
    process (its startup and shutdown run as in the container)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before it started serving"
        assert time.monotonic() < deadline, f"uvicorn did not start within {START_TIMEOUT_S}s"
        time.sleep(0.01)  # between looks at the flag, not a wait for it
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
