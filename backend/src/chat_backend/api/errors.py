"""Errors as JSON, one shape everywhere: `{"error": {"code", "message", "details"}}`.

Every failure a client can see goes through here, so no response ever carries a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import anyio.to_thread
import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from chat_backend.api.database import NoConnectionError
from chat_backend.config import Settings
from chat_backend.db.schema_state import SchemaGuard

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """One problem with a request: where it is (`body.email`, `query.limit`) and what."""

    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """An error with its HTTP status, raised by the routes and turned into JSON here."""

    def __init__(
        self, status: int, code: str, message: str, details: list[ErrorDetail] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []


def not_found(thing: str, key: object) -> ApiError:
    return ApiError(404, "not_found", f"No {thing} has the id {key}.")


def conflict(field: str, value: object) -> ApiError:
    message = f"Another user already has the {field} {value!r}; choose another {field}."
    return ApiError(409, "conflict", message, [ErrorDetail(field=f"body.{field}", message=message)])


def violated_constraint(error: asyncpg.IntegrityConstraintViolationError) -> str | None:
    """The name of the constraint (or unique index) PostgreSQL reported: our naming
    convention makes it `uq_<table>_<column>`, `fk_<table>_<column>_<table>`."""
    return error.constraint_name


def schema_not_ready(problem: str) -> ApiError:
    return ApiError(503, "database_unavailable", problem)


# A 503 is temporary (a lock, a restart, a migration in progress): clients may retry after this.
RETRY_AFTER_S = 1
# SQLSTATEs of a statement stopped by API_LOCK_TIMEOUT_MS or API_STATEMENT_TIMEOUT_MS.
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
# SQLSTATE classes of a lost or refused connection: 08 (connection exception), 57P0x (the
# server shutting down, or ending this session: pg_terminate_backend), 53 (too many
# connections).
CONNECTION_LOST = ("08", "57P", "53")
# The driver's own failures that mean the same: a connection closed under a query, a socket
# error, a connect that timed out.
LOST = (asyncpg.InterfaceError, OSError, TimeoutError)

# At most this many problems are listed in a 422: a body of 87,000 unknown keys must not
# get an answer five times its size.
MAX_DETAILS = 20
# Each listed problem's message is cut to this many characters (pydantic's may quote input).
MAX_DETAIL_CHARS = 300

# The codes of the statuses the framework itself raises (unknown route, wrong method).
CODES = {404: "not_found", 405: "method_not_allowed"}

# Documents the shared shape in the OpenAPI schema for the statuses every data route can return.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase}
    for status in (400, 404, 408, 409, 413, 422, 503)
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    if status == 503:
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at the request's path (Starlette's own 405 names only
    the first route that matched the path, though GET and POST /users are two routes)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": ""})
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def body_too_slow(timeout_ms: int) -> JSONResponse:
    message = (
        f"The request body did not arrive within API_BODY_TIMEOUT_MS ({timeout_ms} ms); "
        "send it faster, or raise API_BODY_TIMEOUT_MS."
    )
    # The rest of the body may still be on its way: the connection cannot carry another
    # request, and closing it is the point.
    return error_response(408, "request_timeout", message, headers={"Connection": "close"})


def payload_too_large(max_body_bytes: int) -> JSONResponse:
    message = (
        f"The request body is larger than API_MAX_BODY_BYTES ({max_body_bytes} bytes); "
        "send less at a time, or raise API_MAX_BODY_BYTES."
    )
    return error_response(413, "payload_too_large", message)


def install_error_handlers(
    app: FastAPI, guard: SchemaGuard, guard_threads: anyio.CapacityLimiter, settings: Settings
) -> None:
    """Turn every exception a request can raise into the shared JSON shape."""

    async def api_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.code, error.message, error.details)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        if error.status_code == 413:
            return payload_too_large(settings.api_max_body_bytes)
        if error.status_code == 408:
            return body_too_slow(settings.api_body_timeout_ms)
        code = CODES.get(error.status_code, HTTPStatus(error.status_code).name.lower())
        message = f"{request.method} {request.url.path}: {HTTPStatus(error.status_code).phrase}."
        headers = None
        if error.status_code == 405:
            headers = {"Allow": ", ".join(allowed_methods(app, request.scope))}
        return error_response(error.status_code, code, message, headers=headers)

    async def invalid_request(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = error.errors()
        details = [_field_error(problem) for problem in problems[:MAX_DETAILS]]
        message = "The request is invalid."
        if len(problems) > MAX_DETAILS:
            message = (
                f"The request is invalid: {len(problems)} problems, the first {MAX_DETAILS} listed."
            )
        return error_response(422, "invalid_request", message, details)

    async def invalid_value(_: Request, error: Exception) -> JSONResponse:
        # A value the checks before the query let through and PostgreSQL (SQLSTATE class 22)
        # or the driver refused: the client's input, so a 422, with the first line.
        message = str(error).strip().splitlines()[0] if str(error).strip() else "invalid value"
        return error_response(422, "invalid_value", f"The database refused a value: {message}.")

    async def database_error(request: Request, error: Exception) -> JSONResponse:
        # A failing query is often the first sign that the schema moved under a running
        # server (or that the database went away), so the guard compares again, on the
        # health threads (requests failing together share one comparison).
        sqlstate = getattr(error, "sqlstate", None) or ""
        # (The driver's own refusal of a value, before sending it, is an InterfaceError
        # that is also a ValueError.)
        if sqlstate.startswith("22") or isinstance(error, ValueError):
            return await invalid_value(request, error)
        busy = _timed_out(sqlstate, settings)
        if busy is not None:
            return error_response(503, "database_busy", busy)
        state = await anyio.to_thread.run_sync(guard.refresh, limiter=guard_threads)
        if state.problem is not None:
            return error_response(503, "database_unavailable", state.problem)
        if isinstance(error, NoConnectionError):
            message = "Every database connection is busy; retry shortly."
            return error_response(503, "database_busy", message)
        if sqlstate.startswith(CONNECTION_LOST) or isinstance(error, LOST):
            # A restart or a kill: the pool replaces the connection on the next acquire.
            message = "The connection to the database was lost; retry: the next one is new."
            return error_response(503, "database_unavailable", message)
        return unexpected(request, error)

    def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_response(500, "internal_error", "Something went wrong; see the server log.")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    for failure in (asyncpg.PostgresError, NoConnectionError, *LOST):
        app.add_exception_handler(failure, database_error)
    app.add_exception_handler(Exception, unexpected)


def _timed_out(sqlstate: str, settings: Settings) -> str | None:
    """What stopped a statement that a timeout of ours cancelled; None for anything else."""
    if sqlstate == LOCK_NOT_AVAILABLE:
        return (
            "Another transaction held a lock this request needs for longer than "
            f"API_LOCK_TIMEOUT_MS ({settings.api_lock_timeout_ms} ms); retry shortly."
        )
    if sqlstate == QUERY_CANCELED:
        return (
            "The database took longer than API_STATEMENT_TIMEOUT_MS "
            f"({settings.api_statement_timeout_ms} ms) for this request (or it was cancelled); "
            "retry shortly."
        )
    return None


def _field_error(problem: Any) -> ErrorDetail:
    # Only the location and pydantic's message: the input (maybe a secret) is never echoed.
    location = ".".join(str(part) for part in problem.get("loc", ()))
    message = str(problem.get("msg", "invalid"))[:MAX_DETAIL_CHARS]
    return ErrorDetail(field=location[:MAX_DETAIL_CHARS] or "body", message=message)
