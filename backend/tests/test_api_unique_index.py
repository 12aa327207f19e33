"""A duplicate caught by a unique index over an expression (emails unique case-insensitively:
`lower(email)`) is the same 409 naming the field as one caught by the column's constraint:
the users route reads the field from the index's name or, failing that, from the key
PostgreSQL reports, never from the value."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.api_support import error_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("index", ["uq_users_email_lower", "users_lower_idx"])
async def test_a_case_insensitive_duplicate_email_is_409_naming_email(
    client: httpx.AsyncClient, engine: Engine, index: str
) -> None:
    with engine.begin() as db:
        db.execute(text(f"CREATE UNIQUE INDEX {index} ON users (lower(email))"))
    first = {"username": "ann", "email": "ann@example.com"}
    assert (await client.post("/users", json=first)).status_code == 201
    # The value holds the other field's name: the field must not be read from it.
    second = {"username": "username", "email": "Ann@Example.com"}
    error = error_of(await client.post("/users", json=second), 409)
    assert [detail["field"] for detail in error["details"]] == ["body.email"]
