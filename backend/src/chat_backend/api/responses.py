"""Responses serialized by pydantic-core in one step.

A route that returns a model makes FastAPI validate it again against the response model and
then encode it; on the busiest routes that costs more than the query. These routes declare
`response_model=` for the OpenAPI schema and return `json_response(model)` instead.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")
