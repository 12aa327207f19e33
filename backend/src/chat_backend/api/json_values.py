"""Text and JSON that PostgreSQL can store, checked while a request is validated (a 422 naming
the field) instead of failing in the database after part of the work is done.

PostgreSQL's `text` and `jsonb` hold no NUL character (`\\u0000`), and UTF-8 has no encoding
for a lone UTF-16 surrogate (`\\ud800` alone), which JSON can spell and Python then holds.
JSON nested deeper than MAX_DEPTH is refused too: it serves no preference or message, and a
few thousand levels stop the serializers that read it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

MAX_DEPTH = 32
# The OpenAPI schema says what validation refuses, so that a client generating requests from
# it (schemathesis does) never sends what the API then refuses: no NUL in any stored string.
# (A lone surrogate cannot be said in a JSON Schema pattern; JSON tools do not generate one.)
NO_NUL = r"^[^\x00]*$"
JSON_VALUE_REF = "#/components/schemas/StorableJsonValue"
# Any JSON value PostgreSQL can store, recursively: the OpenAPI component the app adds.
STORABLE_JSON_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": JSON_VALUE_REF}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": JSON_VALUE_REF},
        },
    ],
    "description": f"JSON without a NUL in any string or key, nested at most {MAX_DEPTH} deep.",
}


def storable_text(value: str) -> str:
    """`value` if PostgreSQL can store it; else ValueError saying why."""
    problem = _text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def storable_json(max_bytes: int) -> AfterValidator:
    """A check that a JSON value is storable, nested at most MAX_DEPTH deep and at most
    `max_bytes` long once encoded."""

    def check(value: Any) -> Any:
        for where, problem in _json_problems(value, "", 1):
            raise ValueError(f"{problem} (at {where or 'the top level'})")
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > max_bytes:
            raise ValueError(f"is {size} bytes as JSON; at most {max_bytes} are stored")
        return value

    return _StorableJson(check)


class _StorableJson(AfterValidator):
    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.pop("additionalProperties", None)
        return {
            **schema,
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": JSON_VALUE_REF},
        }


class _StorableText(AfterValidator):
    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        # A field with a pattern of its own excludes NUL in it (users.py).
        return schema if "pattern" in schema else {**schema, "pattern": NO_NUL}


# Added to a str field's Annotated constraints.
Storable = _StorableText(storable_text)


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "holds a NUL character (\\u0000), which PostgreSQL cannot store; remove it"
    try:
        value.encode()
    except UnicodeEncodeError:
        return (
            "holds a lone UTF-16 surrogate (\\ud800-\\udfff without its pair), which is not "
            "text; send the character itself or its complete surrogate pair"
        )
    return None


def _json_problems(value: Any, where: str, depth: int) -> Iterator[tuple[str, str]]:
    if depth > MAX_DEPTH:
        yield where, f"is nested more than {MAX_DEPTH} levels deep"
        return
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem is not None:
            yield where, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            # repr: a key holding a NUL or a surrogate must not reach the response as is.
            path = f"{where}[{key!r}]"
            key_problem = _text_problem(key)
            if key_problem is not None:
                yield path, f"the key {key_problem}"
            yield from _json_problems(item, path, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_problems(item, f"{where}[{index}]", depth + 1)
