"""Pagination shared by the list routes: `limit` and `offset`, and the page they return."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

MAX_LIMIT = 100
# No table here can hold more rows than an `integer` id counts; a larger offset would only
# overflow PostgreSQL's bigint (a 500) or scan for nothing.
MAX_OFFSET = 2**31 - 1
Item = TypeVar("Item")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]


class Page(BaseModel, Generic[Item]):
    """One page of a list, and the offset of the next page (null on the last one)."""

    items: list[Item]
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, fetched: list[Item], limit: int, offset: int) -> Page[Item]:
        """From up to `limit + 1` fetched items: the extra one only says that more exist."""
        more = len(fetched) > limit
        return cls(
            items=fetched[:limit],
            limit=limit,
            offset=offset,
            next_offset=offset + limit if more else None,
        )
