"""The FastAPI application, built from Settings by a factory (tests build one per database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI

from chat_backend.api.body_limit import BodyLimit
from chat_backend.api.chats import chat_routes
from chat_backend.api.database import Database
from chat_backend.api.errors import ERROR_RESPONSES, install_error_handlers
from chat_backend.api.guarded_routes import guarded_route
from chat_backend.api.health import health_routes
from chat_backend.api.host_check import HostCheck
from chat_backend.api.json_values import STORABLE_JSON_VALUE
from chat_backend.api.users import user_routes
from chat_backend.config import Settings
from chat_backend.db.api_pool import POOL_SIZE, open_api_pool
from chat_backend.db.engine import api_engine
from chat_backend.db.schema_state import CheckedOutCode, CodeSchema, SchemaGuard

# /health and the schema guard have threads and psycopg2 connections of their own, so they
# answer even while every data connection waits (on a row lock, say).
HEALTH_THREADS = 2
# What one worker process holds open at most: its data pool and the guard's.
CONNECTIONS_PER_WORKER = POOL_SIZE + HEALTH_THREADS
DOCS = {"openapi_url": "/openapi.json", "docs_url": "/docs", "redoc_url": "/redoc"}


def create_app(settings: Settings, code: CodeSchema | CheckedOutCode) -> FastAPI:
    """The app over the database of `settings`, guarding it against a schema other than
    `code`'s head (the server's: the checked-out migrations, followed as they change).
    Nothing connects until the app starts or serves a request."""
    db = Database()
    # Pre-ping here: the guard's answer must be about the database, not about a stale socket.
    guard_engine = api_engine(settings, HEALTH_THREADS, pre_ping=True)
    health_threads = anyio.CapacityLimiter(HEALTH_THREADS)
    guard = SchemaGuard(guard_engine, code)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        db.open(await open_api_pool(settings))
        # Logs the state the server starts in.
        await anyio.to_thread.run_sync(guard.refresh, limiter=health_threads)
        try:
            yield
        finally:
            await db.close()
            guard_engine.dispose()

    # The docs routes are added after the data routes (below): routing tries the routes in
    # order on every request, and the busiest should not first be compared with four others.
    app = FastAPI(
        title="Chat backend",
        summary="Users and their AI chats, on PostgreSQL.",
        version="0.1.0",
        lifespan=lifespan,
        **dict.fromkeys(DOCS),  # type: ignore[arg-type]
    )
    app.state.database = db
    install_error_handlers(app, guard, health_threads, settings)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.api_max_body_bytes,
        read_timeout_s=settings.api_body_timeout_ms / 1000,
    )
    # Added last, so it runs first: a request under a foreign name reaches nothing else.
    app.add_middleware(HostCheck, allowed_hosts=settings.allowed_hosts)
    data_route = guarded_route(guard, health_threads)
    # The routes go straight into the app's own list, busiest first (GET /chats/{id}): an
    # included router is a level of its own that every request walks into. No two paths
    # overlap, so order means nothing else.
    for routes in (
        chat_routes(db, data_route, ERROR_RESPONSES),
        user_routes(db, data_route, ERROR_RESPONSES),
        health_routes(guard, health_threads),
    ):
        app.router.routes.extend(routes.routes)
    for name, path in DOCS.items():
        setattr(app, name, path)
    app.setup()
    app.openapi = lambda: openapi_with_components(app)  # type: ignore[method-assign]
    return app


def openapi_with_components(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema of `app`, with the component that stored JSON values refer to."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        schema["components"]["schemas"]["StorableJsonValue"] = STORABLE_JSON_VALUE
    return app.openapi_schema or {}
