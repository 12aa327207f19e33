"""The HTTP API over users and chats: `uvicorn chat_backend.api:app`, the backend service.

application builds the app (`create_app`) from the routes of users, chats and health
(`/health`: the database reachable and at head); the data routes run async on the worker's
asyncpg pool (database), each behind the schema guard (guarded_routes); pages is the
pagination the list routes share; errors turns every failure into a JSON error body;
host_check refuses a Host the API is not served under; body_limit refuses a body over
API_MAX_BODY_BYTES (413) or slower than API_BODY_TIMEOUT_MS (408), and json_values text and
JSON PostgreSQL cannot store (422) before anything is written; responses serialises the
busiest answers directly; workers says how many worker processes the image starts. It
imports config, models and db only.

`app` is built on first access, not at import, so importing this package never reads the
environment or connects; tests call `create_app` with their own settings instead.
"""

from __future__ import annotations

import gc
import logging

from fastapi import FastAPI

from chat_backend.api.application import create_app
from chat_backend.config import exit_with_problems, settings_or_exit
from chat_backend.db.schema_state import CheckedOutCode

__all__ = ["app", "create_app", "server_app"]


def server_app() -> FastAPI:
    """The app as the server runs it: settings from the environment, or exit 2 with one line
    per problem."""
    # uvicorn configures only its own loggers; this shows the app's own lines beside them
    # (and other libraries' warnings), in uvicorn's format.
    logging.basicConfig(format="%(levelname)s:     [%(name)s] %(message)s")
    logging.getLogger("chat_backend").setLevel(logging.INFO)
    settings = settings_or_exit()
    try:
        code = CheckedOutCode()
    except ValueError as error:
        exit_with_problems([str(error)])
    app = create_app(settings, code)
    # The imports and the app built from them live as long as the process. Frozen, they are
    # out of the collector's way: under load a full collection came every few seconds, and
    # scanning them (over 100,000 objects) paused every request of the worker for tens of
    # milliseconds, the API's slowest percent. Collected first, so no garbage is frozen.
    gc.collect()
    gc.freeze()
    return app


def __getattr__(name: str) -> FastAPI:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    app = server_app()
    globals()["app"] = app
    return app
