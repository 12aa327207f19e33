"""GET /health: is the database reachable, and is its schema at the code's head?
GET /livez: is the process serving at all (never asks the database)?"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from chat_backend.db.schema_state import SchemaGuard


class Liveness(BaseModel):
    status: Literal["alive"]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["reachable", "unreachable"]
    revision: str | None
    head: str
    # What keeps the backend from serving data, and the fix; null when nothing does.
    problem: str | None


def health_routes(guard: SchemaGuard) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health, "description": "Database unreachable or not at head"}},
    )
    async def health() -> JSONResponse:
        """200 only when the database answers and its schema is at the code's head."""
        state = await run_in_threadpool(guard.refresh)
        body = Health(
            status="ok" if state.at_head else "unavailable",
            database="reachable" if state.reachable else "unreachable",
            revision=state.revision,
            head=state.head,
            problem=state.problem,
        )
        return JSONResponse(body.model_dump(), status_code=200 if state.at_head else 503)

    @router.get("/livez", response_model=Liveness)
    async def livez() -> Liveness:
        """200 while the server answers: a liveness probe that restarts a hung process, never
        one whose database is down or mid-migration (that is /health's business)."""
        return Liveness(status="alive")

    return router
