"""GET /health: is the database reachable, and is its schema at the code's head? (readiness)
GET /livez: is the process serving at all? (liveness: never touches the database)"""

from __future__ import annotations

from typing import Literal

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from chat_backend.db.schema_state import SchemaGuard


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["reachable", "unreachable"]
    revision: str | None
    head: str
    # The git branch whose data is served (each branch keeps its own); null: not known.
    branch: str | None = None
    # What keeps the backend from serving data, and the fix; null when nothing does.
    problem: str | None = None


class Liveness(BaseModel):
    status: Literal["alive"]


def health_routes(guard: SchemaGuard, threads: anyio.CapacityLimiter) -> APIRouter:
    """The probes; /health runs its check on `threads`, never on the data requests' threads."""
    router = APIRouter(tags=["health"])

    @router.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health, "description": "Database unreachable or not at head"}},
    )
    async def health() -> JSONResponse:
        """200 only when the database answers and its schema is at the code's head."""
        state = await anyio.to_thread.run_sync(guard.refresh, limiter=threads)
        body = Health(
            status="ok" if state.at_head else "unavailable",
            database="reachable" if state.reachable else "unreachable",
            revision=state.revision,
            head=state.head,
            branch=state.branch,
            problem=state.problem,
        )
        return JSONResponse(body.model_dump(), status_code=200 if state.at_head else 503)

    @router.get("/livez")
    async def livez() -> Liveness:
        """200 while the process serves requests, whatever the database does: a restart cannot
        fix the database, so liveness must not depend on it."""
        return Liveness(status="alive")

    return router
