"""Errors as JSON, one shape everywhere: `{"error": {"code", "message", "details"}}`.

Every failure a client can see goes through here, so no response ever carries a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

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


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL reported (our naming convention makes it
    `uq_<table>_<column>`, `fk_<table>_<column>_<table>`)."""
    diagnostics = getattr(error.orig, "diag", None)
    return getattr(diagnostics, "constraint_name", None)


def schema_not_ready(problem: str) -> ApiError:
    return ApiError(503, "database_unavailable", problem)


# A 503 is temporary (a lock, a restart, a migration in progress): clients may retry after this.
RETRY_AFTER_S = 1
# SQLSTATEs of a statement stopped by API_LOCK_TIMEOUT_MS or API_STATEMENT_TIMEOUT_MS.
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"

# The codes of the statuses the framework itself raises (unknown route, wrong method).
CODES = {404: "not_found", 405: "method_not_allowed"}

# Documents the shared shape in the OpenAPI schema for the statuses every data route can return.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase}
    for status in (404, 409, 422, 503)
}


def error_response(
    status: int, code: str, message: str, details: list[ErrorDetail] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def payload_too_large(max_body_bytes: int) -> JSONResponse:
    message = (
        f"The request body is larger than API_MAX_BODY_BYTES ({max_body_bytes} bytes); "
        "send less at a time, or raise API_MAX_BODY_BYTES."
    )
    return error_response(413, "payload_too_large", message)


def install_error_handlers(app: FastAPI, guard: SchemaGuard, settings: Settings) -> None:
    """Turn every exception a request can raise into the shared JSON shape."""

    async def api_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.code, error.message, error.details)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        if error.status_code == 413:
            return payload_too_large(settings.api_max_body_bytes)
        code = CODES.get(error.status_code, HTTPStatus(error.status_code).name.lower())
        message = f"{request.method} {request.url.path}: {HTTPStatus(error.status_code).phrase}."
        return error_response(error.status_code, code, message)

    async def invalid_request(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        details = [_field_error(problem) for problem in error.errors()]
        return error_response(422, "invalid_request", "The request is invalid.", details)

    async def invalid_value(_: Request, error: Exception) -> JSONResponse:
        # A value the checks before the query let through and PostgreSQL refused (SQLSTATE
        # class 22): the client's input, so a 422, with the server's first line.
        assert isinstance(error, DataError)
        message = str(error.orig).strip().splitlines()[0] if error.orig else "invalid value"
        return error_response(422, "invalid_value", f"The database refused a value: {message}.")

    def database_error(request: Request, error: Exception) -> JSONResponse:
        # Runs in a worker thread (a sync handler), so it may ask the database again: a
        # failing query is often the first sign that the schema moved under a running server
        # (or that the database went away). Requests failing together share one check.
        assert isinstance(error, DBAPIError)
        busy = _timed_out(error, settings)
        if busy is not None:
            return error_response(503, "database_busy", busy)
        state = guard.refresh()
        if state.problem is not None:
            return error_response(503, "database_unavailable", state.problem)
        if error.connection_invalidated:  # the server dropped it: a restart, or a kill
            message = "The connection to the database was lost; retry: the next one is new."
            return error_response(503, "database_unavailable", message)
        return unexpected(request, error)

    async def pool_exhausted(_request: Request, _error: Exception) -> JSONResponse:
        message = "Every database connection is busy; retry shortly."
        return error_response(503, "database_busy", message)

    def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_response(500, "internal_error", "Something went wrong; see the server log.")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(DataError, invalid_value)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(PoolTimeoutError, pool_exhausted)
    app.add_exception_handler(Exception, unexpected)


def _timed_out(error: DBAPIError, settings: Settings) -> str | None:
    """What stopped a statement that a timeout of ours cancelled; None for anything else."""
    sqlstate = getattr(error.orig, "pgcode", None)
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
    return ErrorDetail(field=location or "body", message=str(problem.get("msg", "invalid")))
