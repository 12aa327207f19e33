"""A property-based fuzz of every route, generated from the API's own OpenAPI schema by
Schemathesis: inputs that fit the schema and inputs that break it, over real HTTP against a
real PostgreSQL. No input may make the server answer 500."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.result import Ok
from sqlalchemy import URL

from chat_backend.api import create_app
from tests.api_support import CODE, served, settings_for

# Per route and kind of input; 12 routes x 2 kinds x this many requests.
EXAMPLES = 30
# Schemathesis' own runner, every check it has: beyond "no 500", answers as documented
# (status codes, headers, bodies, content types), bad input refused and good input accepted,
# 405 with Allow for methods a path lacks, and deleted resources gone.
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CLI_EXAMPLES = 20
# `--checks all` includes a response time limit, 10 s unless set: a 2-core CI machine running
# the suite (and the dev container's run of it) beside this has taken 16.7 s to answer a 422.
# The limit is the request timeout, so a slow answer still fails, and the same way either way.
REQUEST_TIMEOUT_S = "30"


@pytest.fixture
def base_url(database_url: URL) -> Iterator[str]:
    with served(create_app(settings_for(database_url), CODE)) as url:
        yield url


def fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, base_url: str
) -> tuple[int, list[str]]:
    """Call one route with EXAMPLES generated inputs: how many were sent, and the 500s."""
    sent = 0
    server_errors: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Case[Any]) -> None:
        nonlocal sent
        response = case.call(base_url=base_url, timeout=30)
        sent += 1
        if response.status_code >= 500:
            server_errors.append(f"{case.method} {case.formatted_path}: {response.text}")

    try:
        call()
    except Unsatisfiable:  # a route without parameters or body has no bad input to send
        assert mode is GenerationMode.NEGATIVE
    return sent, server_errors


def test_no_input_makes_a_500(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    tried = dict.fromkeys(GenerationMode, 0)
    server_errors: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode in GenerationMode:
            sent, errors = fuzz(operation, mode, base_url)
            tried[mode] += sent
            server_errors += errors
    with capsys.disabled():
        print(
            f"\nfuzz: {tried[GenerationMode.NEGATIVE]} bad inputs and "
            f"{tried[GenerationMode.POSITIVE]} valid ones tried, {len(server_errors)} 500s seen"
        )
    assert tried[GenerationMode.NEGATIVE] > 0
    assert server_errors == []


def test_every_schemathesis_check_passes(base_url: str, tmp_path: Path) -> None:
    """`schemathesis run --checks all`, deterministic, over real HTTP."""
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{base_url}/openapi.json", "--checks", "all",
         "--max-examples", str(CLI_EXAMPLES), "--generation-deterministic", "--seed", "1",
         "--request-timeout", REQUEST_TIMEOUT_S, "--max-response-time", REQUEST_TIMEOUT_S,
         "--suppress-health-check", "all", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-2_000:]
